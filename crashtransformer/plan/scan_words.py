"""The words plan/scan_repair.py may mend a broken scan into, and the printed labels of the CR-3
form that OCR catches inside a narrative. Written by us from the catalogue (plan/catalogue.py),
the scene the patterns read (plan/scene.py) and how officers tell a crash; no narrative's text."""

from __future__ import annotations

# Words whose loss hides a unit, a movement, a collision, a cause or the scene.
CRASH_WORDS = frozenset("""
unit units vehicle vehicles vehicle's driver drivers operator operators motorist motorists pedestrian pedestrians
cyclist bicycle bicyclist truck trucks pickup trailer semi tractor motorcycle bus van car cars suv sedan
traveling travelling traveled travelled travel travels driving drove drive proceeding proceeded proceed
continued continuing continue approaching approached approach coming came going went moving moved
northbound southbound eastbound westbound north south east west northeast northwest southeast southwest
bound direction directions lane lanes inside outside center middle shoulder median intersection intersections
roadway road roads street streets highway freeway interstate frontage ramp access private driveway parking lot
block blvd boulevard avenue service main through across toward towards around
stopped stopping stop stops slowed slowing slow slowly stationary waiting yielding parked parking idling sitting
behind ahead front rear back side sides left right passenger quarter bumper distributed damage damaged
turning turned turn turns merging merged merge changing changed change backing backed reversing reversed
struck striking strike strikes collided colliding collision collisions crashed crashing crash contact
impact impacted rammed sideswiped hitting pushed pushing causing caused cause resulted resulting result
failed failing failure control controlled speed speeding unsafe unsafely yield yielded disregarded disregarding
signal signals light lights traffic sign signs flashing green yellow red arrow protected solid
inattention inattentive distracted distraction attention fatigued asleep intoxicated impaired alcohol
influence drugs medical seizure unconscious defective brakes brake braking tire tires blowout steering
following followed closely distance improper improperly wrong lost loss overcorrected veered drifted swerved
swerving single opposite oncoming entering entered exiting exited leaving pulled pulling
evading pursuit curve ditch pole fence tree curb barrier guardrail wall rolled rollover overturned
witness witnesses stated advised observed officer attempted attempting attempt realize realized noticed notice
statement minor major meter complete completed completely unable able avoid avoided evasive action
looking phone texting cell weather rain raining wet icy ice fog dark daylight
reverse maintain maintained maintaining fallen fell falling pass passed passing accident received
collide collides impacting impacts ran run running cross crossed crossing
westward eastward northward southward
sustained sustaining veh hydroplaned hydroplaning skidded skidding spun spinning rotated
""".split())

# Short words left as they are even where a letter would make a crash word of them: mending
# "he" into "the" or "an" into "and" changes nothing the patterns read, and guessing is a risk.
COMMON_WORDS = frozenset("""
a an and as at be by do go he her him his i if in is it its me my no of on or so to up us we
was were had has have not but for the then than that this they them their there with from into
onto over under near when while after before about also one two three four five six seven eight
nine ten said says see seen saw all any are can did does get got out off own per
""".split())

# The CR-3's printed headings around the narrative box, as OCR catches them inside the text.
FORM_LABELS = (
    "investigator's narrative opinion of what happened",
    "(attach additional sheets if necessary)",
    "factors & conditions",
    "contributing factors (investigator's opinion)",
    "field diagram - not to scale",
)
