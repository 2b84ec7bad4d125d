"""The reference summary of a synthetic crash: 1-2 plain sentences, cause -> collision -> harm.

Written from the crash's ground truth (not from its noisy narrative), always clean, with units
named "Unit N", in several shapes so a model cannot learn one fixed sentence.
"""

from __future__ import annotations

from crashtransformer.prepare.synthetic import phrases as P

_NO_HARM = ("no injuries", "no one was hurt", "nobody was injured", "no injuries were reported")
_HARM = {  # {who} is a person; only the worst injury is summarised
    "Possible Injury": ("{who} reported possible injuries", "{who} complained of pain"),
    "Suspected Minor Injury": ("{who} had minor injuries", "{who} was slightly hurt"),
    "Suspected Serious Injury": ("{who} was seriously injured", "{who} suffered serious injuries"),
    "Fatal": ("{who} was killed", "{who} died"),
}
_WHO = {"driver": "the driver of {unit}", "passenger": "a passenger in {unit}", "pedestrian": "pedestrian {unit}",
        "cyclist": "cyclist {unit}"}
_WITH_CAUSE = (
    "{S} {cause_and_collision} {where}; {harm}.",
    "{Where}, {S} {cause_and_collision}. {Harm}.",
    "{S} {collision} {where} because {pronoun} {cause}; {harm}.",
    "{S} {cause}, then {collision} {where}. {Harm}.",
)
_WITHOUT_CAUSE = (
    "{S} {collision} {where}; no cause was stated; {harm}.",
    "{Where}, {S} {collision}; the report gives no cause. {Harm}.",
)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _harm(crash) -> str:
    rng = crash.rng
    if not crash.injuries:
        return rng.choice(_NO_HARM)
    role, person, severity = crash.injuries[0]  # the first listed is the worst
    who = _WHO[person].format(unit=_unit(crash, role))
    return rng.choice(_HARM[severity]).format(who=who)


def _unit(crash, role: str) -> str:
    return f"Unit {crash.ids[role][1:]}"


def _where(crash) -> str:
    if crash.manner == "backing":
        return f"in {crash.lot}"
    return crash.rng.choice((f"on {crash.road}", f"in the {crash.block} block of {crash.road}",
                             f"on {crash.road} in {crash.city}", f"in {crash.city}"))


def _collision(crash, subject: str) -> str:
    active, passive = P.MANNER_SUMMARY[crash.manner]
    units = {role: _unit(crash, role) for role in crash.roles}
    text = (active if subject == "A" else passive).format(A=units["A"], B=units.get("B", ""), OBJ=crash.obj)
    if "C" in crash.roles:
        pushed = ", pushing {B} into {C}" if subject == "A" else ", and {B} was pushed into {C}"
        text += pushed.format(B=units["B"], C=units["C"])
    return text


def write_summary(crash) -> str:
    """One reference summary for a composed crash (synthetic._Crash)."""
    rng = crash.rng
    subject = crash.fault if crash.factors else "A"
    kind = crash.kinds[subject]
    where = _where(crash)
    values = {"S": _unit(crash, subject), "collision": _collision(crash, subject), "where": where,
              "Where": _capitalise(where), "harm": _harm(crash), "pronoun": "it" if kind == "vehicle" else "the " + kind}
    values["Harm"] = _capitalise(values["harm"])
    if not crash.factors:
        return _capitalise(rng.choice(_WITHOUT_CAUSE).format(**values))
    causes = [rng.choice(P.FACTOR_SUMMARY[f]) for f in crash.factors]
    values["cause"] = " and ".join(causes)
    steps = causes + [values["collision"]]  # "A, B and C" reads better than "A and B and C"
    values["cause_and_collision"] = ", ".join(steps[:-1]) + " and " + steps[-1]
    if kind != "vehicle":
        values["S"] = f"{kind} {values['S']}"
    return _capitalise(rng.choice(_WITH_CAUSE).format(**values))
