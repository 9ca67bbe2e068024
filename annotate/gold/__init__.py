"""Label Studio exports in, the gold set out: which annotation is gold and the build (`build`, `choose`), the
writer, the reader, the card, agreement, adjudication, a round's status and annotation files made elsewhere.
"""
