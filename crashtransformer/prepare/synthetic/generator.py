"""Compositional synthetic crashes with ground-truth plans, reference summaries and spans.

A crash is composed, not templated: a cause (any of the catalogue's 28 factors) picks a
plausible manner (all 11), the manner picks the units and the scene (roads, directions,
traffic control, weather, light, injuries), and every piece has several phrasings
(prepare/synthetic/phrases.py for causes and collisions, prepare/synthetic/scene.py for the rest).
The narrative is built as parts, some labelled (UNIT, FACTOR, COLLISION); noise
(prepare/synthetic/noise.py) keeps the labelled parts' lengths, so character spans stay exact.

Deterministic and lazy: record i of seed s draws from its own generator seeded by (s, i), so
a million records need no memory. Noise draws from a second generator: noise=0 and
noise=0.5 describe the same crashes, only written differently.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from crashtransformer.prepare.synthetic import phrases as P
from crashtransformer.prepare.synthetic import scene as S
from crashtransformer.plan.catalogue import FACTOR_BY_KEY, FACTORS, MANNER_BY_KEY, MANNERS, PlanStep, format_plan
from crashtransformer.core.errors import UserError
from crashtransformer.data.records import CrashRecord
from crashtransformer.prepare.synthetic.noise import NoiseStyle, Part, apply_noise
from crashtransformer.prepare.synthetic.summary import write_summary

WRITTEN_MANNERS = tuple(m for m in MANNERS if m.key != "animal")  # the generator writes no animal strikes

SEVERITIES = ("Not Injured", "Possible Injury", "Suspected Minor Injury", "Suspected Serious Injury", "Fatal")
# Chance of each severity (order of SEVERITIES) by manner: people on foot, head-on and
# rollover crashes are hurt far more often than people in rear-end or backing crashes.
_SEVERITY_WEIGHTS = {
    "rear_end": (60, 25, 10, 4, 1), "backing": (90, 8, 2, 0, 0), "sideswipe_same": (75, 15, 7, 3, 0),
    "angle": (50, 25, 15, 8, 2), "left_turn": (50, 25, 15, 8, 2), "sideswipe_opposite": (60, 20, 12, 6, 2),
    "head_on": (15, 20, 30, 25, 10), "rollover": (15, 20, 30, 25, 10), "fixed_object": (45, 20, 20, 10, 5),
    "pedestrian": (3, 20, 35, 29, 13), "cyclist": (5, 25, 40, 24, 6),
}
NO_CAUSE_RATE = 0.05  # real narratives sometimes state no cause: those crashes get an empty plan
SECOND_FACTOR_RATE = 0.15  # a drunk driver who was also speeding: two plan lines
CHAIN_RATE = 0.25  # rear-end and angle crashes where the struck unit is pushed into a third
SECOND_INJURY_RATE = 0.3  # a second, less hurt person
DETAIL_RATE = 0.35  # chance a vehicle gets described (make, model, colour); half that for a trip statement
_FIRST_DATE, _DAYS = date(2018, 1, 1), 7 * 365  # CrashDate range: 2018 to 2024
# Failing to control speed is by far the most cited cause in CRIS narratives.
_FACTOR_WEIGHTS = [6 if f.key == "failed_to_control_speed" else 1 for f in FACTORS]
# Where the other unit was headed, relative to A (quarter turns): same, opposite or crossing.
_DIRECTION_OFFSET = {"rear_end": (0,), "sideswipe_same": (0,), "head_on": (2,), "left_turn": (2,),
                     "sideswipe_opposite": (2,), "angle": (1, 3), "pedestrian": (1, 3), "cyclist": (0, 1, 3),
                     "backing": (0, 1, 2, 3), "fixed_object": (0,), "rollover": (0,)}
_PLACEHOLDER = re.compile(r"\{(A|B|C|F|O|W|U)\}")
_EDGES = re.compile(r"^([\s,;.]*)(.*?)([\s,;.]*)$", re.S)


class _Fields(dict):
    """format_map fields that leave unit placeholders ({A}, {F}, ...) for _render."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, names: dict[str, tuple[str, str]], label: str | None = None,
            key: str | None = None) -> list[Part]:
    """Template into parts: placeholders become UNIT parts; the words between them get `label`."""
    parts: list[Part] = []
    for index, piece in enumerate(_PLACEHOLDER.split(template)):
        if index % 2:  # a placeholder
            unit_id, written = names[piece]
            parts.append((written, "UNIT", unit_id))
        elif piece:
            lead, core, trail = _EDGES.match(piece).groups()
            core_label = label if core not in ("", "and") else None
            for text, part_label in ((lead, None), (core, core_label), (trail, None)):
                if text:
                    parts.append((text, part_label, key if part_label else None))
    return parts


def _sentence(parts: list[Part]) -> list[Part]:
    """Capitalise the first letter and end with a full stop; empty parts dropped."""
    if not any(text.strip() for text, _, _ in parts):
        return []
    parts = [part for part in parts if part[0]]
    text, label, key = parts[0]
    parts[0] = (text[0].upper() + text[1:], label, key)
    return parts if parts[-1][0].endswith(".") else parts + [(".", None, None)]


def _plain(text: str) -> list[Part]:
    return [(text, None, None)]


def _road(rng: random.Random, rural: bool) -> str:
    if rural:
        return rng.choice(S.RURAL_ROADS)
    kind = rng.random()
    if kind < 0.55:
        return f"{rng.choice(S.STREET_NAMES)} {rng.choice(S.STREET_SUFFIXES)}"
    return rng.choice(S.NUMBERED_STREETS) if kind < 0.7 else rng.choice(S.HIGHWAYS)


def _traffic_control(factors: list[str], manner: str, rng: random.Random) -> str:
    """The control the cause implies (a stop sign for 'ran the stop sign'), else a plausible one."""
    implied = {"yield_stop_sign": "Stop Sign", "disregarded_stop_sign": "Stop Sign", "yield_yield_sign": "Yield Sign",
               "disregarded_signal": "Signal Light", "yield_turning_left": "Signal Light"}
    for factor in factors:
        if factor in implied:
            return implied[factor]
    if manner in ("angle", "left_turn", "pedestrian", "cyclist"):
        return rng.choice(("Signal Light", "Stop Sign", "None"))
    if manner == "backing":  # parking lots have no lanes or signals
        return "None"
    return rng.choice(("Marked Lanes", "None"))


class _Crash:
    """One crash being composed: its cause, units, scene, injuries, and narrative parts."""

    def __init__(self, rng: random.Random, nrng: random.Random, noise: float):
        self.rng, self.nrng = rng, nrng
        self.style = NoiseStyle.draw(rng, nrng, noise)
        self._choose_cause()
        self._choose_units()
        self._choose_scene()
        self._choose_injuries()

    # ------------------------------------------------------------------ what happened
    def _choose_cause(self) -> None:
        rng = self.rng
        if rng.random() < NO_CAUSE_RATE:
            self.factors: list[str] = []
            self.manner = rng.choice(WRITTEN_MANNERS).key
            return
        primary = rng.choices(FACTORS, weights=_FACTOR_WEIGHTS)[0].key
        self.manner = rng.choice(P.FACTOR_MANNERS[primary])
        self.factors = [primary]
        companions = [f for f in P.CONTRIBUTING_FACTORS if f != primary and self.manner in P.FACTOR_MANNERS[f]]
        if primary not in P.NON_MOTORIST_FACTORS and companions and rng.random() < SECOND_FACTOR_RATE:
            self.factors.append(rng.choice(companions))

    def _choose_units(self) -> None:
        """Roles A (the manner's defining unit), B (the other party), C (a chained third) -> U1..U3."""
        rng, manner = self.rng, self.manner
        if manner in P.SINGLE_VEHICLE_MANNERS:
            self.roles = ["A"]
        elif manner in S.CHAIN_SETUP and rng.random() < CHAIN_RATE:
            self.roles = ["A", "B", "C"]
        else:
            self.roles = ["A", "B"]
        numbers = list(range(1, len(self.roles) + 1))
        if rng.random() < 0.3:  # the acting unit is not always Unit 1
            rng.shuffle(numbers)
        self.ids = {role: f"U{number}" for role, number in zip(self.roles, numbers)}
        other_kind = manner if manner in P.NON_MOTORIST_MANNERS else "vehicle"
        self.kinds = {"A": "vehicle", "B": other_kind, "C": "vehicle"}
        # In angle crashes the unit that failed to yield is often the one struck.
        fault_is_b = bool(set(self.factors) & P.NON_MOTORIST_FACTORS) or (manner == "angle" and rng.random() < 0.35)
        self.fault = "B" if fault_is_b else "A"
        self.other = "A" if fault_is_b else "B"
        self.written = {role: self.style.unit_name(self._number(role), self.kinds[role]) for role in self.roles}

    def _number(self, role: str) -> int:
        return int(self.ids[role][1:])

    def _names(self) -> dict[str, tuple[str, str]]:
        """Each role's mention for one sentence, with F/O aliases for the at-fault and other unit."""
        names = {role: (self.ids[role], self.style.mention(self._number(role), self.kinds[role], self.written[role],
                                                          self.nrng)) for role in self.roles}
        names["F"] = names[self.fault]
        if self.other in names:
            names["O"] = names["W"] = names[self.other]
        return names

    def _choose_scene(self) -> None:
        rng = self.rng
        self.city, self.county = rng.choice(S.CITIES)
        rural = self.manner in ("rollover", "sideswipe_opposite", "head_on") and rng.random() < 0.6
        self.road, self.cross = _road(rng, rural), _road(rng, rural=False)
        self.block = rng.randrange(1, 150) * 100
        self.lot = rng.choice(S.PARKING_LOTS)
        self.obj = rng.choice(P.FIXED_OBJECTS)
        self.weather = rng.choices(list(S.WEATHER), weights=(60, 20, 15, 3, 2))[0]
        self.light = rng.choices(list(S.LIGHT), weights=(60, 15, 12, 6, 7))[0]
        self.control = _traffic_control(self.factors, self.manner, rng)
        self.date = (_FIRST_DATE + timedelta(days=rng.randrange(_DAYS))).isoformat()
        self.fields = self._scene_fields()

    def _scene_fields(self) -> _Fields:
        rng = self.rng
        heading = {"A": rng.randrange(4)}
        heading["B"] = (heading["A"] + rng.choice(_DIRECTION_OFFSET[self.manner])) % 4
        bound = rng.random() < 0.5  # "northbound" or "north", one way per narrative
        fields = _Fields(road=self.road, cross=self.cross, block=self.block, lot=self.lot,
                         lane_a=rng.choice(S.LANES), lane_b=rng.choice(S.LANES))
        roads = {"A": self.road, "B": self.cross if self.manner == "angle" else self.road}  # angle: crossing roads
        for role, letter in (("A", "a"), ("B", "b"), (self.fault, "f"), (self.other, "o")):
            word = S.DIRECTIONS[heading[role]]
            fields[f"d{letter}"] = word + "bound" if bound else word
            fields[f"d{letter}_bound"] = word + "bound"
            fields[f"road_{letter}"] = roads[role]
        fields["loc"] = rng.choice(S.LOCATIONS).format_map(fields)
        return fields

    def _choose_injuries(self) -> None:
        rng = self.rng
        level = rng.choices(range(len(SEVERITIES)), weights=_SEVERITY_WEIGHTS[self.manner])[0]
        self.severity = SEVERITIES[level]
        self.injuries: list[tuple[str, str, str]] = []  # (role, person, severity)
        if level == 0:
            return
        if self.manner in P.NON_MOTORIST_MANNERS or len(self.roles) == 1:
            victim = "B" if self.manner in P.NON_MOTORIST_MANNERS else "A"
        else:
            victim = rng.choice(["B", "B", "A"] + self.roles[2:])
        self.injuries.append((victim, self._person(victim), SEVERITIES[level]))
        if level > 1 and rng.random() < SECOND_INJURY_RATE:
            role = rng.choice([r for r in self.roles if self.kinds[r] == "vehicle"])
            person = "passenger" if role == victim else self._person(role)
            self.injuries.append((role, person, SEVERITIES[rng.randrange(1, level)]))

    def _person(self, role: str) -> str:
        kind = self.kinds[role]
        return kind if kind != "vehicle" else ("driver" if self.rng.random() < 0.75 else "passenger")

    # ------------------------------------------------------------------ the narrative
    def sentences(self) -> list[list[Part]]:
        rng = self.rng
        opening = [_plain(rng.choice(S.OFFICER_OPENINGS))]
        setup, conditions = self._setup(), self._conditions()
        middle = conditions + setup if rng.random() < 0.4 else setup + conditions
        body = opening + middle + self._crash() + self._aftermath()
        return [s for s in (_sentence(parts) for parts in body) if s]

    def _fill(self, template: str, label: str | None = None, key: str | None = None) -> list[Part]:
        return _render(template.format_map(self.fields), self._names(), label, key)

    def _setup(self) -> list[list[Part]]:
        rng = self.rng
        groups = {role: texts for role, texts in S.SETUP[self.manner].items() if role in self.roles}
        shaped = [f for f in self.factors if f in S.FAULT_SETUP]
        if shaped and self.fault in groups:
            groups[self.fault] = S.FAULT_SETUP[shaped[0]]
        order = list(groups)
        if self.manner != "rear_end":  # rear-end: the struck unit first, as officers write it
            rng.shuffle(order)
        out = [self._fill(rng.choice(groups[role])) for role in order]
        if "C" in self.roles:
            out.insert(1, self._fill(rng.choice(S.CHAIN_SETUP[self.manner])))
        return out + self._details()

    def _details(self) -> list[list[Part]]:
        """What the vehicles were and where drivers were going: no cause, only texture."""
        rng, out = self.rng, []
        for role in self.roles:
            if self.kinds[role] != "vehicle":
                continue
            unit = "{" + role + "}"
            if rng.random() < DETAIL_RATE:
                text = rng.choice(S.VEHICLE_DESCRIPTIONS).format(
                    U=unit, color=rng.choice(S.VEHICLE_COLORS), year=rng.randrange(2001, 2025),
                    model=rng.choice(S.VEHICLE_MODELS))
                out.append(_render(text, self._names()))
            if rng.random() < DETAIL_RATE / 2:
                text = rng.choice(S.DRIVER_STATEMENTS).format(U=unit, place=rng.choice(S.PLACES))
                out.append(_render(text, self._names()))
        return out

    def _conditions(self) -> list[list[Part]]:
        rng, out = self.rng, []
        if rng.random() < 0.5:
            out.append(_plain(rng.choice(S.WEATHER[self.weather])))
        if rng.random() < 0.35:
            out.append(_plain(rng.choice(S.LIGHT[self.light])))
        if rng.random() < 0.5:
            out.append(_plain(rng.choice(S.TRAFFIC_CONTROL_SENTENCES[self.control]).format_map(self.fields)))
        return out

    def _crash(self) -> list[list[Part]]:
        rng = self.rng
        template = self.style.manner_template(self.manner, rng, self.nrng).replace("{OBJ}", self.obj)
        collision = self._fill(template, "COLLISION", self.manner)
        chain = [self._fill(rng.choice(S.CHAIN_COLLISIONS))] if "C" in self.roles else []
        if not self.factors:
            return [collision, _plain(rng.choice(S.NO_CAUSE_SENTENCES))] + chain
        cause = [(self._names()["F"][1], "UNIT", self.ids[self.fault])]
        for number, factor in enumerate(self.factors):
            cause += [(" " if number == 0 else " and ", None, None),
                      (self.style.factor_phrase(factor, rng, self.nrng), "FACTOR", factor)]
        witness = self.other in self.roles and self.kinds[self.other] == "vehicle"  # a driver who can tell
        frames = [f for f in S.STATEMENT_FRAMES if witness or "{W}" not in f]
        frame = _render(rng.choice(frames), self._names())
        shape = rng.random()
        if self.fault == "A" and template.startswith("{A}") and shape < 0.6:
            # "Unit 1 failed to control its speed and struck the back of Unit 2."
            rest = collision[1:]
            rest = rest[1:] if rest and not rest[0][0].strip() else rest
            return [frame + cause + _plain(" and ") + rest] + chain
        if shape > 0.85:  # the collision first, then its cause
            return [collision + _plain(rng.choice((" after ", " when ", " because "))) + cause] + chain
        return [frame + cause, collision] + chain

    def _aftermath(self) -> list[list[Part]]:
        rng, out = self.rng, []
        for role, person, severity in self.injuries:
            template = rng.choice(S.INJURY_SENTENCES[severity])
            template = template.replace("{P}", rng.choice(S.PEOPLE[person])).replace("{H}", rng.choice(S.HOSPITALS))
            out.append(_render(template.replace("{U}", "{" + role + "}"), self._names()))
        if not self.injuries:
            out.append(_plain(rng.choice(S.NO_INJURY_SENTENCES)))
        two_vehicles = self.kinds["B"] == "vehicle" and "B" in self.roles
        usable = [t for t in S.AFTERMATH
                  if (two_vehicles or not any(w in t for w in ("{B}", "Both", "drivers")))
                  and (self.factors or "{F}" not in t)
                  and (self.manner != "backing" or not any(w in t for w in ("shoulder", "roadway")))]
        out += [self._fill(t) for t in rng.sample(usable, rng.randint(0, 2))]
        return out

    # ------------------------------------------------------------------ labels
    def plan_lines(self) -> list[str]:
        actors = tuple(self.ids[r] for r in (self.fault, self.other, "C") if r in self.roles)
        manner = MANNER_BY_KEY[self.manner].plan_text
        return format_plan([PlanStep(FACTOR_BY_KEY[f].plan_text, manner, actors) for f in self.factors])

    def summary(self) -> str:
        return write_summary(self)

    def metadata(self, spans: list[dict]) -> dict:
        return {
            "Crash_Severity": self.severity, "City": self.city, "County": self.county, "CrashDate": self.date,
            "factors": list(self.factors), "manner": self.manner, "spans": spans,
            "units": [{"id": self.ids[r], "kind": self.kinds[r], "at_fault": r == self.fault and bool(self.factors)}
                      for r in self.roles],
            "injuries": [{"unit": self.ids[r], "person": p, "severity": s} for r, p, s in self.injuries],
            "road": self.road, "weather": self.weather, "light": self.light, "traffic_control": self.control,
        }


def make_record(index: int, seed: int = 42, noise: float = 0.3) -> CrashRecord:
    """Record number `index` (0-based) of the stream for `seed`; the same on every call."""
    rng = random.Random(f"{seed}:{index}")  # string seeds hash with SHA-512: stable across runs and platforms
    nrng = random.Random(f"{seed}:{index}:noise")
    crash = _Crash(rng, nrng, noise)
    narrative, spans = apply_noise(crash.sentences(), crash.style, nrng)
    return CrashRecord(crash_id=f"S{seed}-{index + 1:07d}", narrative=narrative, summary=crash.summary(),
                       plan_lines=crash.plan_lines(), metadata=crash.metadata(spans))


def generate_records(num_examples: int, seed: int = 42, noise: float = 0.3) -> Iterator[CrashRecord]:
    """`num_examples` synthetic crashes, lazily; deterministic for (seed, noise); noise 0 is clean."""
    if not isinstance(num_examples, int) or num_examples < 0:
        raise UserError(f"--num_examples must be a whole number >= 0, got {num_examples!r}")
    if not 0.0 <= noise <= 1.0:
        raise UserError(f"--noise must be between 0 (clean) and 1, got {noise!r}")
    return (make_record(index, seed, noise) for index in range(num_examples))


def diversity_report(records: Iterable[CrashRecord]) -> dict:
    """Distinct-narrative and distinct-4-gram ratios (word 4-grams, lower case), plus label counts.

    Narratives and 4-grams are kept as 8-byte digests, so a million records fit in memory.
    """
    narratives, grams = set(), set()
    count = gram_count = 0
    factors, manners = Counter(), Counter()
    for record in records:
        count += 1
        narratives.add(hashlib.blake2b(record.narrative.encode(), digest_size=8).digest())
        words = record.narrative.lower().split()
        for start in range(len(words) - 3):
            grams.add(hashlib.blake2b(" ".join(words[start:start + 4]).encode(), digest_size=8).digest())
        gram_count += max(0, len(words) - 3)
        factors.update(record.metadata.get("factors", []))
        manners[record.metadata.get("manner")] += 1
    return {
        "records": count, "distinct_narratives": len(narratives),
        "distinct_narrative_ratio": len(narratives) / count if count else 0.0,
        "four_grams": gram_count, "distinct_four_grams": len(grams),
        "distinct_4gram_ratio": len(grams) / gram_count if gram_count else 0.0,
        "factors_seen": len(factors), "manners_seen": len(manners),
        "factor_counts": dict(factors.most_common()), "manner_counts": dict(manners.most_common()),
    }
