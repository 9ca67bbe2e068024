"""`annotate users`: accounts annotators and reviewers log in with (`add`, `invite`, `list`)."""

from __future__ import annotations

import os
import sys

import click

from .common import EXIT_ERROR, database_option, home_option, studio_call


@click.group("users")
def users_group():
    """Accounts for the people of a round: each annotator and reviewer logs in as themselves, so every
    annotation carries its author (agreement, adjudication and `status` count people, not logins).

    \b
    Example:
      annotate users add amal@example.org                  # prints a password once, on this terminal
      annotate users add rana@example.org --role reviewer
      annotate users invite                                # or: the signup link, they choose a password
      annotate users list
    """


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["annotator", "reviewer"]), default="annotator", show_default=True,
              help="What the person does in the round (Label Studio's open-source edition has no roles: the "
                   "toolkit keeps this record in --home/users.json).")
@click.option("--reset", is_flag=True,
              help="The account exists (made by `push --annotator` or `adjudicate --reviewer`, with no usable "
                   "password): give it a new password. Only on the server `annotate studio up` runs from --home.")
@home_option
@database_option
def users_add(email, role, reset, home, database_url):
    """Make an account EMAIL can log in with, through the server's invite link, and record its role.

    The password comes from ANNOTATE_USER_PASSWORD when set (scripts); otherwise a random one is made and shown
    once, on this terminal only: it is stored nowhere (Label Studio keeps only its hash). Give it to the person
    by a private channel; they log in at the server's /user/login. Without a terminal (a CI log) and without
    ANNOTATE_USER_PASSWORD, nothing is made: use `annotate users invite` instead. An account that exists already
    is left as it is unless --reset gives it a new password (on the local server only: Label Studio's API cannot
    set another user's password).

    \b
    Example:
      annotate users add amal@example.org
      ANNOTATE_USER_PASSWORD="$(pass show annotate/rana)" annotate users add rana@example.org --role reviewer
      annotate users add annotator-a@annotate.local --reset     # an account `push --annotator` made
    """
    from ..studio.connection import load_connection
    from ..studio.users import PASSWORD_ENV, add_user, new_password, set_password_on_local_server

    given = os.environ.get(PASSWORD_ENV, "")
    shown = not given
    if shown and not sys.stdout.isatty():
        raise click.ClickException(
            f"the output is not a terminal, so a new password would end up in a log: set {PASSWORD_ENV}, or send "
            "the person the link of `annotate users invite`; nothing was made")
    conn = studio_call(load_connection)
    password = given or new_password()
    if len(password) < 8:
        raise click.ClickException(f"{PASSWORD_ENV}: Label Studio wants at least 8 characters; nothing was made")
    added = studio_call(add_user, conn, home, email, role, password)
    if not added.created and not reset:
        click.echo(f"{added.email} has an account on {conn.url} already: nothing changed there; role recorded as "
                   f"{role}. An account made by `push --annotator` or `adjudicate --reviewer` has no usable "
                   "password: `annotate users add EMAIL --reset` gives it one.")
        return added
    if not added.created:
        from ..studio.database import database_from

        studio_call(set_password_on_local_server, home, studio_call(database_from, database_url), email, password)
    if shown:
        click.echo(f"Password for {added.email} (shown once, stored nowhere): {password}")
    click.echo(f"{'Added' if added.created else 'New password for'} {added.email} as {role} on {conn.url}: log in "
               f"at {conn.url}/user/login/ with "
               f"{'the password above' if shown else f'the password of {PASSWORD_ENV}'}.")
    return added


@users_group.command("invite")
def users_invite():
    """Print the organisation's signup link: a person opens it, signs up with their email and a password they
    choose. Anyone with the link can make an account, so send it only to the team (it is printed, not logged by
    the toolkit; Label Studio's organisation page can renew it).

    \b
    Example:
      annotate users invite
    """
    from ..studio.connection import load_connection
    from ..studio.users import invite_url

    conn = studio_call(load_connection)
    click.echo(studio_call(invite_url, conn))


@users_group.command("list")
@home_option
def users_list(home):
    """The server's users, with the role `annotate users add` recorded for them.

    \b
    Example:
      annotate users list
    """
    from ..studio.connection import load_connection
    from ..studio.users import list_users

    conn = studio_call(load_connection)
    users = studio_call(list_users, conn, home)
    if not users:
        click.echo(f"No users on {conn.url}.")
        sys.exit(EXIT_ERROR)
    width = max(len(u.email) for u in users)
    for u in users:
        click.echo(f"{u.id:>5}  {u.email:<{width}}  {u.role or '-':<9}  joined {u.date_joined or '?'}  "
                   f"last active {u.last_activity or '-'}")
    click.echo(f"{len(users)} user(s) on {conn.url}.")
    return users
