"""Faithful training targets: a reference summary cleaned of what its narrative does not support.

A model learns to write what its targets say; targets that guess ("likely due to inattention")
or add causes the officer never wrote teach it to invent. `clean_summary` keeps the supported
sentences of a summary word for word and removes the rest, judged by the claim-support checker
(metrics/claims.py):

1. a sentence without claims is kept as it is;
2. a sentence with one loses the clause that holds it (cut at a clause boundary: ", ",
   " due to ", " because ", ...), when what remains is still a sentence and checks clean;
3. otherwise the whole sentence goes (a hedge in the main clause, "This was likely ...", too),
   and with it a next sentence that only points back at it ("This was ...").

The result is checked again as a whole, so it never holds an unsupported claim or a hedge.
Everything may go: the cleaned summary is then empty and the row has no target left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crashtransformer.metrics.claim_facts import Claim, NarrativeFacts
from crashtransformer.metrics.claims import check_claims
from crashtransformer.metrics.sentences import split_sentences

# Where a clause may be cut: the claim's clause starts at the last of these before it. A bare " or "
# is none: cutting "due to X or Y" to "due to X" would turn a guess between two causes into a finding.
_BOUNDARY = re.compile(r",\s+|;\s+|\s+(?:due to|because(?: of)?|as|while|which|resulting (?:from|in)|leading to"
                       r"|causing)\s+", re.IGNORECASE)
# A sentence opening so speaks of the one before it: once that is dropped, it means nothing.
_ANAPHOR = re.compile(r"(?:this|that|these|it)\b", re.IGNORECASE)
# A clause removed from the middle is followed by this, the comma before it stays ("X, causing Z").
_TRAILING_PHRASE = re.compile(r",\s+(?:\w+ing\b|which|then|as|while|who|so)", re.IGNORECASE)
# A head ending so is no sentence ("The failure was due to X" cut to "The failure was").
_DANGLING = re.compile(r"\b(?:was|were|is|are|be|been|being|had|has|have|did|does|the|a|an|of|to|by|for|with|from"
                       r"|in|on|at|into|than|and|but|that|this|its|their|his|her|not|so|then|caused|occurred)$",
                       re.IGNORECASE)
# A cut that leaves no verb leaves a noun phrase ("The vehicle's design or ..." cut to "The vehicle's design").
_VERB = re.compile(r"\b(?:\w{2,}[^e\W]ed|was|were|is|are|be|had|has|have|did|does|do|struck|hit|ran|drove|fell|lost"
                   r"|left|went|made|took|saw|began|became|led|got|spun|slid)\b", re.IGNORECASE)
MIN_WORDS = 3  # a sentence cut at its tail keeps at least this many words
MAX_CUTS = 4  # clauses tried per sentence before it is dropped whole


def _claims(text: str, facts: NarrativeFacts) -> list[Claim]:
    """Judged as `run` selects (infer/rerank.py): a word the narrative never uses counts too, so the
    model is not taught what its own outputs would be rejected for."""
    return check_claims(text, facts=facts, wording=True)


@dataclass(frozen=True)
class CleanedSummary:
    text: str  # the cleaned summary: the original when nothing was unsupported, "" when nothing was left
    original: str
    dropped_sentences: int = 0
    dropped_clauses: int = 0  # clauses cut from sentences that were kept
    hedges_removed: int = 0  # hedges ("likely", "may have") of the original summary
    unsupported_removed: int = 0  # unsupported claims of the original summary, hedges apart
    claims: tuple[Claim, ...] = ()  # what the checker found in the original

    @property
    def touched(self) -> bool:
        return self.text != self.original

    @property
    def empty(self) -> bool:
        """Nothing supported was left: the row has no target."""
        return not self.text.strip()


def _well_formed(sentence: str) -> str:
    """Capitalized, ending with one period (a cut leaves a comma or nothing at the end)."""
    body = sentence.strip().rstrip(",;:- ").strip()
    if not body:
        return ""
    body = body[0].upper() + body[1:]
    return body if body[-1] in ".!?" else body + "."


def _ends_well(head: str, words: int) -> bool:
    head = head.strip().rstrip(",;: ")
    return len(head.split()) >= words and not _DANGLING.search(head)


def _cuts(sentence: str, claim: Claim) -> list[str]:
    """Candidate sentences without the claim's clause, the smallest cut first."""
    boundaries = [b for b in _BOUNDARY.finditer(sentence) if b.end() <= claim.start]
    if not boundaries:
        return []  # the claim is in the main clause: no cut keeps the sentence
    head, cuts = sentence[:boundaries[-1].start()], []
    comma = sentence.find(",", claim.end)
    if comma >= 0 and _ends_well(head, 1):  # a clause in the middle ("Unit 1, distracted, struck"): keep the rest
        rest = sentence[comma:]
        cuts.append(head + rest if _TRAILING_PHRASE.match(rest) else head + " " + rest[1:].lstrip())
    if _ends_well(head, MIN_WORDS):  # a clause at the end: cut the tail
        cuts.append(head)
    return cuts


def _clean_sentence(sentence: str, facts: NarrativeFacts) -> tuple[str, int]:
    """The sentence with its unsupported clauses cut, and how many; "" when it must go whole."""
    claims = _claims(sentence, facts)
    cuts = 0
    while claims:
        if cuts == MAX_CUTS:
            return "", cuts
        for candidate in map(_well_formed, _cuts(sentence, claims[0])):
            if not _VERB.search(candidate):
                continue
            remaining = _claims(candidate, facts)
            if len(remaining) < len(claims):
                sentence, claims, cuts = candidate, remaining, cuts + 1
                break
        else:
            return "", cuts
    return sentence, cuts


def _drop_flagged(sentences: list[str], facts: NarrativeFacts) -> tuple[list[str], int]:
    """The final guarantee: the joined text is checked as a whole; a sentence still flagged goes."""
    dropped = 0
    while sentences:
        text = " ".join(sentences)
        flagged = _claims(text, facts)
        if not flagged:
            break
        starts, position = [], 0
        for sentence in sentences:
            starts.append(position)
            position += len(sentence) + 1
        bad = {max(i for i, s in enumerate(starts) if s <= claim.start) for claim in flagged}
        sentences = [s for i, s in enumerate(sentences) if i not in bad]
        dropped += len(bad)
    return sentences, dropped


def clean_summary(summary: str, narrative: str, graph: dict | None = None,
                  facts: NarrativeFacts | None = None) -> CleanedSummary:
    """The summary without its speculative and unsupported sentences or clauses (module docstring).

    `graph` is the narrative's crash graph when the caller has it (prepare-data's plan extraction):
    the narrative is then not parsed again."""
    summary = summary or ""
    facts = facts or NarrativeFacts(narrative or "", graph)
    claims = tuple(_claims(summary, facts))
    if not claims:
        return CleanedSummary(summary, summary)
    kept, dropped_sentences, dropped_clauses, previous_dropped = [], 0, 0, False
    for sentence in split_sentences(summary):
        cleaned, cuts = ("", 0) if previous_dropped and _ANAPHOR.match(sentence) else _clean_sentence(sentence, facts)
        previous_dropped = not cleaned
        if cleaned:
            kept.append(cleaned)
            dropped_clauses += cuts
        else:
            dropped_sentences += 1
    kept, late = _drop_flagged(kept, facts)
    hedges = sum(1 for claim in claims if claim.type == "hedge")
    return CleanedSummary(" ".join(kept), summary, dropped_sentences + late, dropped_clauses,
                          hedges, len(claims) - hedges, claims)
