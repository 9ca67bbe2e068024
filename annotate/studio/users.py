"""People who annotate and review: accounts a person can log in with, made through the server's own invite link.

Why the invite link: Label Studio's open-source edition has no API to set another user's password (its user
serializer has no password field, so `POST /api/users/` makes an account nobody can log in to), and the server
runs with signup closed except through the organisation's invite link (LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK).
So an account is made the way a person would make it: the signup form at `/user/signup/?token=<organisation
token>` (the token from `GET /api/invite`, which needs the admin key), with the person's email and a password.
That works on any Label Studio, local or remote, and the new user is an ordinary member of the organisation.

The open-source edition has no roles either (every member sees every project), so the role (annotator or
reviewer) is the toolkit's own record, kept next to the connection in `<home>/users.json`.
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core.atomic import atomic_write_json
from .client import StudioError, call, rest
from .connection import Connection

ROLES = ("annotator", "reviewer")
ROLES_FILE = "users.json"
PASSWORD_ENV = "ANNOTATE_USER_PASSWORD"


@dataclass(frozen=True)
class StudioUser:
    id: int
    email: str
    date_joined: str
    last_activity: str
    role: str  # from the toolkit's record; "" when the user was not added with `annotate users add`


def invite_url(conn: Connection) -> str:
    """The organisation's signup link (anyone holding it can make an account: hand it only to the team)."""
    with rest(conn, timeout=60) as client:
        answer = call(conn, "get the organisation's invite link", client.get, "/api/invite")
    path = answer.get("invite_url") if isinstance(answer, dict) else None
    if not path:
        raise StudioError(f"Label Studio at {conn.url} gave no invite link (GET /api/invite: {str(answer)[:200]})")
    return conn.url + path if path.startswith("/") else path


def new_password() -> str:
    """A random password (96 bits) for a new account, to be shown once."""
    return secrets.token_urlsafe(12)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a successful signup answers 302: that answer is the result
        return None


def sign_up(conn: Connection, email: str, password: str, timeout: float = 60.0) -> None:
    """Make the account through the invite link's signup form, as the person would in a browser. Raises
    StudioError with the server's own words when the form is refused (email taken, password too short ...)."""
    link = invite_url(conn)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    what = f"sign up {email} through the invite link"
    try:
        with opener.open(link, timeout=timeout) as page:
            page.read()
        csrf = next((c.value for c in jar if c.name == "csrftoken"), "")
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "email": email, "password": password,
                                       "allow_newsletters": "false"}).encode()
        request = urllib.request.Request(link, data=form, headers={"Referer": link, "X-CSRFToken": csrf})
        try:
            with opener.open(request, timeout=timeout) as answer:
                status, body = answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", "replace")
    except urllib.error.URLError as exc:
        raise StudioError(f"{what}: Label Studio at {conn.url} is not reachable ({exc.reason})") from None
    except OSError as exc:
        raise StudioError(f"{what}: Label Studio at {conn.url} is not reachable ({type(exc).__name__})") from None
    if status in (301, 302, 303):
        return
    if status == 403:
        raise StudioError(f"{what}: refused (HTTP 403): the invite link is not valid any more")
    raise StudioError(f"{what}: refused: {form_errors(body) or f'HTTP {status}'}")


def form_errors(page: str) -> str:
    """The error lines of Label Studio's signup page (its templates put them in elements of class 'error' or in
    an errorlist), as plain text."""
    found = re.findall(r'class="[^"]*(?:error|errorlist)[^"]*"[^>]*>(.*?)</', page, flags=re.S)
    words = [html.unescape(re.sub(r"<[^>]+>", "", f)).strip() for f in found]
    return "; ".join(dict.fromkeys(w for w in words if w))


def _roles_path(home: str | Path) -> Path:
    return Path(home) / ROLES_FILE


def read_roles(home: str | Path) -> dict[str, str]:
    path = _roles_path(home)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StudioError(f"{path}: cannot be read ({exc}); move it away to start a new record") from None
    return {str(k).lower(): str(v) for k, v in (data.get("roles") or {}).items()}


def record_role(home: str | Path, email: str, role: str) -> None:
    roles = read_roles(home)
    roles[email.lower()] = role
    Path(home).mkdir(parents=True, exist_ok=True)
    atomic_write_json(_roles_path(home), {"roles": dict(sorted(roles.items()))})


def list_users(conn: Connection, home: str | Path) -> list[StudioUser]:
    with rest(conn, timeout=60) as client:
        answer = call(conn, "list users", client.get, "/api/users/")
    rows = answer.get("results", []) if isinstance(answer, dict) else (answer or [])
    roles = read_roles(home)
    return [StudioUser(int(u["id"]), u.get("email") or "", (u.get("date_joined") or "")[:19],
                       (u.get("last_activity") or "")[:19], roles.get((u.get("email") or "").lower(), ""))
            for u in rows]


@dataclass(frozen=True)
class AddedUser:
    email: str
    role: str
    created: bool  # False: the account was there already (nothing changed on the server)


def add_user(conn: Connection, home: str | Path, email: str, role: str, password: str) -> AddedUser:
    """Make a loginable account for `email` (unless one exists) and record its role."""
    if role not in ROLES:
        raise StudioError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    existing = {u.email.lower() for u in list_users(conn, home)}
    created = email.lower() not in existing
    if created:
        sign_up(conn, email, password)
    record_role(home, email, role)
    return AddedUser(email.lower(), role, created)


# Label Studio's own models set the password, in a process with the server's environment (its database), the way
# its `label-studio reset_password` command does; the password goes through stdin, never argv.
_SET_PASSWORD = """
import os, sys
import label_studio
sys.path.insert(0, os.path.dirname(label_studio.__file__))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
from django.core.wsgi import get_wsgi_application
get_wsgi_application()
from users.models import User
user = User.objects.filter(email__iexact=sys.argv[1]).first()
if user is None:
    sys.exit(3)
user.set_password(sys.stdin.read())
user.save(update_fields=["password"])
"""


def set_password_on_local_server(home: str | Path, database, email: str, password: str,
                                 timeout: float = 300.0) -> None:
    """Give an existing account (one made by `push --annotator`, say, which has no usable password) a new
    password on the server `annotate studio up` runs from `home`: only there is its database within reach."""
    import subprocess
    import sys

    from .server import _credentials, studio_environment

    home = Path(home)
    if not (home / "credentials.json").exists():
        raise StudioError(f"{home} holds no local Label Studio (`annotate studio up --home {home}`): a password can "
                          "be set only on the server started from there; elsewhere run `label-studio "
                          "reset_password` where that server runs")
    env = studio_environment(home, _credentials(home), database)
    try:
        done = subprocess.run([sys.executable, "-c", _SET_PASSWORD, email], input=password, env=env, text=True,
                              capture_output=True, timeout=timeout, cwd=home)
    except subprocess.TimeoutExpired:
        raise StudioError(f"setting the password of {email}: no answer from Label Studio in {timeout:.0f} s") from None
    if done.returncode == 3:
        raise StudioError(f"no account {email} in the database of the server in {home}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise StudioError(f"setting the password of {email} failed: {last[:300]}")
