"""Small annotated documents for the agreement and adjudication tests: one sentence, two annotators' views."""

from annotate.core.model import Document, Entity, Event, Provenance, Span

TEXT = "استقبل مسرور بارزاني الجنرال كارل هاريس في أربيل"


def at(word, label, rid):
    s = TEXT.index(word)
    return Entity(rid, s, s + len(word), label)


def person(name, entities, events=()):
    return Document("d" * 16, TEXT, list(entities), list(events), {}, Provenance((name,), ("1",)))


def meet(args, realis="actual"):
    s = TEXT.index("استقبل")
    return Event("v1", "Contact.Meet", Span(s, s + 6), {"realis": realis}, tuple(args))
