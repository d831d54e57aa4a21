"""Personal data detection on imported items: Presidio's pattern recognizers, no NLP model.

``scan_items(rows)`` takes item ``data`` values and answers, per row, which entity types
were found where (``Finding``: counts and offsets, never the values). It runs each
recognizer's pattern path directly instead of ``AnalyzerEngine``: the engine's default NLP
engine wants a spaCy model (a download), and its per-call set-up costs more than the
patterns themselves on short texts.

Speed, because every import row goes through here:
- recognizers are built once per process (``_recognizers``), their regexes compiled on
  first use and kept by Presidio's ``Pattern`` objects;
- each recognizer runs only on text its gate (a cheap regex of what its matches must
  contain: an ``@``, a run of seven digits...) finds, and text no gate finds is not
  analysed at all - most labelling text;
- strings that repeat across rows (category fields, templates) are analysed once per batch.

Names and addresses need a statistical model. A deployment that installs a spaCy model
(``pip install <wheel of en_core_web_lg>``) and sets ``PII_SPACY_MODEL=en_core_web_lg``
gets PERSON and LOCATION as well; without it they are not detected (see the README).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from django.conf import settings

# Our entity names (what pii_types shows, and the masking placeholders) for Presidio's.
ENTITY_NAMES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL_CREDENTIALS": "URL_CREDENTIALS",
    "UK_NHS": "UK_NHS",
    "ES_NIF": "ES_NIF",
    "IT_FISCAL_CODE": "IT_FISCAL_CODE",
    "PL_PESEL": "PL_PESEL",
    "FI_PERSONAL_IDENTITY_CODE": "FI_PERSONAL_ID",
    "IN_AADHAAR": "IN_AADHAAR",
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
}
ENTITY_TYPES = tuple(sorted(set(ENTITY_NAMES.values())))
# Below this a pattern match is a guess (Presidio's weak IPv6 pattern scores 0.1); phone
# numbers come from phonenumbers' own validation at 0.4.
MIN_SCORE = 0.4
# What each recognizer's matches must contain, as a cheap regex: a recognizer runs only on
# text its gate finds; ``_candidate`` first rules out text no gate could find.
_DIGIT_RUN = r"\d(?:[\s\-./()]{0,2}\d){6,}"  # phones, cards, NHS, PESEL, NIF, Aadhaar
GATES = {
    "email": r"@",
    "url_credentials": r"://[^\s/]*@",
    "phone": r"\+\s?\d|" + _DIGIT_RUN,
    "digit_run": _DIGIT_RUN,
    "iban": r"\d\d(?<=\b[A-Za-z]{2}\d\d)",
    "ip": r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d|::|:[0-9A-Fa-f]{1,4}:",
    "it_fiscal_code": r"\d\d[A-Za-z]\d\d[A-Za-z]\d{3}",
    "fi_personal_id": r"\d{6}[-+A-FU-Y]\d{3}",
}
_GATES = {name: re.compile(gate) for name, gate in GATES.items()}
_PHONE_CANDIDATE = re.compile(GATES["phone"])
_DIGITS = "0123456789"
_EMAIL_TOKEN = re.compile(r"[^\s@]*@\S*")


def _candidate(text: str) -> bool:
    """Whether any gate can match, from substring counts (C speed, no regex): every
    entity needs an "@", a "::", seven digits, or four digits with the dots or colons of
    an IP address. Most labelling text fails this and costs about a microsecond."""
    if "@" in text or "::" in text:
        return True
    digits = sum(map(text.count, _DIGITS))
    return digits >= 7 or (digits >= 4 and (text.count(".") >= 3 or text.count(":") >= 2))
MAX_DEPTH = 20
# Short strings repeat across rows (labels, categories); long ones rarely do.
REPEAT_CACHE_MAX_LENGTH = 200


@dataclass
class Finding:
    """What one row holds: entity type -> count, and where (path into data, start, end,
    type) - offsets only, so a finding never stores the personal data it points at."""

    counts: dict[str, int] = field(default_factory=dict)
    spans: list[list] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.counts)


@lru_cache(maxsize=1)
def _recognizers() -> tuple:
    """Built on first use, not at import: importing presidio_analyzer imports spaCy (and
    transformers when installed), seconds that only processes which scan should pay."""
    import tldextract
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        EsNifRecognizer,
        FiPersonalIdentityCodeRecognizer,
        IbanRecognizer,
        InAadhaarRecognizer,
        IpRecognizer,
        ItFiscalCodeRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        PlPeselRecognizer,
    )

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio checks the domain's public suffix with tldextract, whose default
        extractor downloads the Public Suffix List on first use: use the snapshot that
        ships in the wheel instead (no network at run time)."""

        extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
            # Presidio's email regex backtracks over the whole text (a millisecond on a
            # sentence); an address holds no whitespace, so only the whitespace-delimited
            # tokens around each "@" are searched, and offsets shifted back.
            results = []
            for token in _EMAIL_TOKEN.finditer(text):
                for result in super().analyze(token.group(), entities, nlp_artifacts,
                                              regex_flags):
                    result.start += token.start()
                    result.end += token.start()
                    results.append(result)
            return results

        def validate_result(self, pattern_text: str):
            return self.extract(pattern_text.rsplit("@", 1)[-1]).fqdn != ""

    class CoveringPhoneRecognizer(PhoneRecognizer):
        """Presidio's phone recognizer runs phonenumbers' matcher once per region; stop
        once every digit run of the text is explained (most texts need one pass)."""

        def analyze(self, text, entities, nlp_artifacts=None):
            import phonenumbers

            runs = [(m.start(), m.end()) for m in _PHONE_CANDIDATE.finditer(text)]
            results = []
            for region in self.supported_regions:
                for match in phonenumbers.PhoneNumberMatcher(text, region,
                                                             leniency=self.leniency):
                    results.append(self._get_recognizer_result(match, text, region,
                                                               nlp_artifacts))
                if all(any(r.start < end and start < r.end for r in results)
                       for start, end in runs):
                    break
            return self.remove_duplicates(results)

    class UrlCredentialsRecognizer(PatternRecognizer):
        """``scheme://user:password@host``: a credential, whatever else the URL holds."""

        def __init__(self):
            super().__init__(
                supported_entity="URL_CREDENTIALS", supported_language="en",
                patterns=[Pattern("URL with credentials", r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,15}"
                                  r"://[^\s/:@]+:[^\s/@]+@[^\s/?#]+", 1.0)])

    return (
        ("email", OfflineEmailRecognizer()),
        ("url_credentials", UrlCredentialsRecognizer()),
        ("phone", CoveringPhoneRecognizer(
            supported_regions=tuple(settings.PII_PHONE_REGIONS))),
        ("digit_run", CreditCardRecognizer()),
        ("iban", IbanRecognizer()),
        ("ip", IpRecognizer()),
        # National ids with a checksum only: a pattern alone is right too rarely.
        ("digit_run", NhsRecognizer()),
        ("digit_run", EsNifRecognizer()),
        ("it_fiscal_code", ItFiscalCodeRecognizer()),
        ("digit_run", PlPeselRecognizer()),
        ("fi_personal_id", FiPersonalIdentityCodeRecognizer()),
        ("digit_run", InAadhaarRecognizer()),
    )


@lru_cache(maxsize=1)
def _ner():
    """(nlp engine, spaCy recognizer) when PII_SPACY_MODEL names an installed model."""
    model = settings.PII_SPACY_MODEL
    if not model:
        return None
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    engine.load()
    return engine, SpacyRecognizer(supported_entities=["PERSON", "LOCATION"])


def _email_start(text: str, start: int, end: int) -> int:
    """Presidio's local part admits "/" (RFC 5322 does), so an address inside a URL path
    matches from the host on; the person's address starts after the last slash."""
    local = text[start:end].split("@", 1)[0]
    return start + local.rfind("/") + 1


def _resolve_overlaps(results: list) -> list[tuple[int, int, str]]:
    """Keep the strongest, then longest, of overlapping matches (a URL's credentials over
    the email-looking part inside it; a card over the phone-looking digits in it)."""
    ranked = sorted(results, key=lambda r: (-r.score, -(r.end - r.start), r.start))
    kept: list[tuple[int, int, str]] = []
    for result in ranked:
        if all(result.end <= start or result.start >= end for start, end, _ in kept):
            kept.append((result.start, result.end, ENTITY_NAMES[result.entity_type]))
    return sorted(kept)


def scan_text(text: str) -> list[tuple[int, int, str]]:
    """(start, end, entity type) of the personal data in ``text``."""
    ner = _ner()
    candidate = _candidate(text)
    if not candidate and ner is None:
        return []
    results = []
    if candidate:
        open_gates: dict[str, bool] = {}
        for gate, recognizer in _recognizers():
            if gate not in open_gates:
                open_gates[gate] = _GATES[gate].search(text) is not None
            if open_gates[gate]:
                results.extend(r for r in recognizer.analyze(
                    text, recognizer.supported_entities) if r.score >= MIN_SCORE)
    if ner is not None:
        engine, recognizer = ner
        artifacts = engine.process_text(text, "en")
        results.extend(r for r in recognizer.analyze(text, ["PERSON", "LOCATION"], artifacts)
                       if r.score >= MIN_SCORE)
    for result in results:
        if result.entity_type == "EMAIL_ADDRESS":
            result.start = _email_start(text, result.start, result.end)
    return _resolve_overlaps(results)


def _strings(value: Any, path: tuple = (), depth: int = 0) -> Iterable[tuple[tuple, str]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, str):  # the common flat row, without a recursive call
                yield (*path, key), child
            elif isinstance(child, (dict, list)):
                yield from _strings(child, (*path, key), depth + 1)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, (*path, index), depth + 1)


_CLEAN = Finding()  # shared by every row without findings: never mutated


def scan_items(rows: Iterable[Any]) -> list[Finding]:
    """One Finding per row of item ``data``, in order (falsy for clean rows)."""
    seen: dict[str, list[tuple[int, int, str]]] = {}
    findings = []
    for data in rows:
        found = []
        for path, text in _strings(data):
            spans = seen.get(text)
            if spans is None:
                spans = scan_text(text) if _candidate(text) or _ner() else []
                if len(text) <= REPEAT_CACHE_MAX_LENGTH:
                    seen[text] = spans
            for start, end, entity in spans:
                found.append([list(path), start, end, entity])
        if not found:
            findings.append(_CLEAN)
            continue
        counts = Counter(span[3] for span in found)
        findings.append(Finding(counts=dict(sorted(counts.items())), spans=found))
    return findings
