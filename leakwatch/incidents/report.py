"""The DPO's draft: a personal data breach notification (GDPR art. 33) in Markdown or HTML, holding
what the CNIL's notification form asks and leakwatch knows, and prompts for what only the
organisation knows (likely consequences, measures, special categories of data).

No leaked value: counts, kinds of field, sources and times; refs only in an annex when asked for.
Everything that came from outside (URLs, source names) or from an analyst (notes) is escaped for
Markdown, and the HTML is rendered from that Markdown with raw HTML disabled.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakwatch.display import duration, printable
from leakwatch.storage.store import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from leakwatch.incidents.export.facts import IncidentFacts

NOTIFY_WITHIN = dt.timedelta(hours=72)

CATEGORIES = {
    "nir": "National identification number (NIR, social security number)",
    "last_name": "Civil status: last names",
    "first_name": "Civil status: first names",
    "date": "Civil status: dates (of birth, as the data set declares)",
    "email": "Contact details: e-mail addresses",
    "phone": "Contact details: phone numbers",
    "postcode": "Postal address: postcodes",
    "city": "Postal address: cities",
    "iban": "Economic and financial data: bank account numbers (IBAN)",
    "card": "Economic and financial data: payment card numbers",
    "text_id": "Internal identifiers (customer, patient or file numbers)",
}
CONSEQUENCES = {
    "nir": "identity theft, misuse of the social security number",
    "email": "phishing and scams aimed at the people concerned",
    "phone": "phishing by phone or SMS, unwanted calls",
    "iban": "fraudulent direct debits, financial loss",
    "card": "fraudulent payments, financial loss",
    "date": "identity theft (birth date with names)",
    "postcode": "unwanted mail, physical approaches",
    "text_id": "impersonation towards your own services (account or file numbers)",
}


@dataclass
class ReportFacts:
    facts: IncidentFacts
    organisation: str
    generated: dt.datetime
    include_refs: bool
    canary_datasets: frozenset[str] = frozenset()


def gather(engine: Engine, master: bytes, organisation_setting: str, incident_id: int,
           include_refs: bool) -> ReportFacts:
    """What the draft says of one incident (``master`` and ``organisation_setting`` as ``export.collect``)."""
    from leakwatch.incidents import export
    from leakwatch.storage import store

    data = export.collect(engine, master, organisation_setting, [incident_id], None, include_refs)
    canaries = frozenset(d.name for d in store.datasets(engine, purpose="canary"))
    return ReportFacts(data.facts[0], data.organisation, store.utcnow(), include_refs, canaries)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~&])")
_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def esc(text: object) -> str:
    """Text from outside or from an analyst, made inert for Markdown (and so for its HTML): one
    line, control and bidi characters written as ``\\xNN`` (``display.printable``), inline markup
    escaped, and what would open a block at the start of a line too."""
    line = _MD_SPECIAL.sub(r"\\\1", printable(" ".join(str(text).split())))
    return _LINE_START.sub(lambda m: m.group(0) + "\\" if m.group(0)[0].isdigit() else "\\" + m.group(0), line)


def _quote(text: str) -> str:
    """A multi-line note as a Markdown block quote, each line escaped."""
    return "\n".join(f"> {esc(line)}" if line.strip() else ">" for line in text.splitlines())


def _when(value: dt.datetime | None) -> str:
    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M UTC") if v else "unknown"


def markdown(r: ReportFacts) -> str:
    f = r.facts
    inc = f.incident
    kinds = sorted(inc.kind_list, key=lambda k: (list(CATEGORIES).index(k) if k in CATEGORIES else len(CATEGORIES), k))
    datasets = [d for d in inc.datasets.split(",") if d and d not in r.canary_datasets]
    terms = [t for t in inc.terms.split(",") if t]
    strong = inc.high + inc.medium
    discovered = as_utc(inc.first_seen)
    assert discovered is not None
    out: list[str] = []
    add = out.append

    add(f"# Personal data breach: notification draft (incident {inc.id})")
    add("")
    add(f"*Draft prepared by leakwatch on {_when(r.generated)} for the data protection officer of "
        f"{esc(r.organisation)}. It holds what leakwatch observed; the parts marked **To complete** are "
        "for you. It holds no leaked value.*")
    add("")
    add(f"Severity according to leakwatch: **{inc.severity}** · status: **{inc.status}** · "
        f"confidence: **{inc.confidence}**")
    add("")

    add("## 1. Nature of the breach")
    add("")
    add("- Type: **loss of confidentiality**: personal data of your organisation were found published "
        "or offered where stolen data surfaces (see section 5).")
    if inc.canaries:
        add(f"- {inc.canaries} canary record(s) (synthetic records planted in your own exports) were found "
            "among them: the data left your systems, this is a confirmed leak.")
    if terms and not inc.records:
        add(f"- Only a mention of your organisation was found (watch terms: {esc(', '.join(terms))}), "
            "no record of your data sets: confirm whether personal data are involved at all.")
    add("- Origin (theft, error, malice, provider): **To complete**: leakwatch sees where the data "
        "surfaced, not how they left.")
    add("")

    add("## 2. Categories of personal data")
    add("")
    if kinds:
        for kind in kinds:
            add(f"- {CATEGORIES.get(kind, esc(kind))}")
    else:
        add("- None identified by leakwatch.")
    add("")
    add("These are the kinds of field that matched your records; the publication may hold more fields "
        "than leakwatch recognises. **To complete**: special categories (GDPR art. 9: health, for "
        f"patients' records), offences, minors. Data set(s) concerned: {esc(', '.join(datasets) or 'none')}.")
    add("")

    add("## 3. Approximate number of people and of records")
    add("")
    add(f"- Records concerned: **{inc.records}** (high confidence {inc.high}, medium {inc.medium}, "
        f"low {inc.low}).")
    add(f"- People concerned: about **{strong}** (one person per record matched with medium or high "
        "confidence; a person with several records counts more than once)"
        + (f", up to {inc.records} with the low-confidence matches." if inc.low else "."))
    if inc.canaries:
        add(f"- Canary records: {inc.canaries} (synthetic, not people: not counted above).")
    add("")

    add("## 4. Dates")
    add("")
    first_pub = as_utc(inc.first_published)
    add(f"- First sighting published: **{_when(first_pub) if first_pub else 'unknown (the source does not date it)'}**")
    add(f"- Discovered by leakwatch: **{_when(discovered)}**"
        + (f", {duration(inc.detection_seconds)} after publication" if inc.detection_seconds is not None else ""))
    add(f"- Last seen: {_when(inc.last_seen)} ({inc.sightings} sighting(s))")
    if inc.acked_at is not None:
        add(f"- Acknowledged by an analyst: {_when(inc.acked_at)}")
    add(f"- If your organisation became aware at discovery, the 72-hour deadline to notify the CNIL is "
        f"**{_when(discovered + NOTIFY_WITHIN)}** (GDPR art. 33). **To complete**: when the breach itself "
        "began, if known.")
    add("")

    add("## 5. Where the data surfaced")
    add("")
    add("| source | where | records | published | seen |")
    add("|---|---|---|---|---|")
    for x in f.sightings:
        add(f"| {esc(x.source)} | {esc(x.url or x.item_key)} | {x.records + x.canaries} | "
            f"{_when(x.published_at) if x.published_at else 'unknown'} | {_when(x.seen_at)} |")
    add("")
    if inc.hosts:
        add(f"Look-alike hosts named there (defanged): {esc(', '.join(inc.host_list))}. They imitate your "
            "domain: attacker infrastructure, likely for phishing the people concerned, not your data.")
        add("")

    add("## 6. Likely consequences for the people concerned")
    add("")
    add("**To complete by the DPO.** From the kinds of data exposed, consider:")
    add("")
    likely = dict.fromkeys(CONSEQUENCES[k] for k in kinds if k in CONSEQUENCES)
    if inc.hosts:
        likely["phishing from look-alike hosts imitating your organisation (section 5)"] = None
    for text in likely:
        add(f"- [ ] {text}")
    add("- [ ] disclosure of sensitive information (health, if these are patients' records)")
    add("- [ ] other: ")
    add("")
    add("Severity of the risk for the people (none / risk / high risk: art. 34 notification of the "
        "people): **To complete**.")
    add("")

    add("## 7. Measures taken and planned")
    add("")
    if inc.acked_at is not None:
        add(f"- {_when(inc.acked_at)}: incident acknowledged by an analyst in leakwatch.")
    for n in f.notes:
        add(f"- {_when(n.created_at)}, {esc(n.author or 'unknown')}:")
        add("")
        add("\n".join("  " + line for line in _quote(n.text).splitlines()))
        add("")
    if inc.acked_at is None and not f.notes:
        add("- None recorded yet (add them with `leakwatch incidents note " f"{inc.id} TEXT`).")
    add("- **To complete**: takedown requests, information of the people concerned, measures against "
        "a repetition.")
    add("")

    if r.include_refs and f.refs is not None:
        add("## Annex: refs of the exposed records")
        add("")
        add("Your own references of the records found (look them up in your systems); no value.")
        add("")
        add("| data set | ref | type | kinds of field | confidence |")
        add("|---|---|---|---|---|")
        for ref in f.refs:
            add(f"| {esc(ref.dataset)} | {esc(ref.ref)} | {ref.type} | {esc(ref.fields.replace(',', ', '))} | "
                f"{ref.confidence} |")
        add("")
    return "\n".join(out)


_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
          "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}"
          "blockquote{border-left:3px solid #999;margin-left:0;padding-left:1em;color:#333}")


def html(r: ReportFacts) -> str:
    """The same draft as an HTML page: Markdown rendered with raw HTML off, so nothing that came
    from a note or a URL can become markup."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown(r))
    title = f"Personal data breach: notification draft (incident {r.facts.incident.id})"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f'<style>{_STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n')
