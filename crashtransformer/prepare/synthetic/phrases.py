"""Phrasing tables for the synthetic crash generator (prepare/synthetic/generator.py), in police-report style.

Public constants, read by the generator and by anyone who wants to know what it writes
(the offline plan extractor's tests, the tagging task):

- FACTOR_PHRASES[factor_key]: predicates that follow the acting party ("Unit 1 <phrase>").
- FACTOR_ABBREVIATIONS[factor_key]: shorthand officers use, written only when noise > 0.
- MANNER_PHRASES[manner_key]: collision clauses; {A} is the unit whose movement defines the
  manner (the striking unit; the turning unit for left-turn; the backing unit for backing;
  the vehicle for pedestrian/cyclist), {B} the other party, {OBJ} a fixed object.
- MANNER_ABBREVIATIONS[manner_key]: the CRIS damage-code shorthand ("FD impacted ... BD"),
  noise only.
- FACTOR_MANNERS[factor_key]: the manners a factor plausibly leads to.
- FIXED_OBJECTS fill {OBJ}; FACTOR_SUMMARY / MANNER_SUMMARY are the plain words of the
  reference summary (prepare/synthetic/summary.py).
Scene wording (roads, weather, injuries, ...) lives in prepare/synthetic/scene.py.
The keys are those of crashtransformer.plan.catalogue; nothing here redefines a factor or manner.
"""

from __future__ import annotations

FACTOR_PHRASES: dict[str, tuple[str, ...]] = {
    "failed_to_control_speed": (
        "failed to control its speed", "failed to control speed", "did not control his speed",
        "failed to control her speed", "failed to control their speed"),  # "unable to stop in time" is an outcome, not this cause
    "unsafe_speed": (
        "was traveling at an unsafe speed", "was driving too fast for the conditions",
        "was traveling at a high rate of speed", "was speeding",
        "was going too fast for the roadway conditions"),
    "followed_too_closely": (
        "was following too closely", "followed too closely", "did not maintain a safe following distance",
        "was following at an unsafe distance", "did not leave enough distance to stop"),
    "yield_stop_sign": (
        "failed to yield the right of way at the stop sign", "did not yield the right of way at the stop sign",
        "pulled away from the stop sign without yielding", "failed to yield after stopping at the stop sign"),
    "yield_turning_left": (
        "failed to yield the right of way while turning left", "turned left in front of oncoming traffic",
        "failed to yield while making a left turn", "attempted a left turn without yielding to oncoming traffic"),
    "yield_yield_sign": (
        "failed to yield at the yield sign", "did not yield the right of way at the yield sign",
        "entered the roadway past the yield sign without yielding", "failed to yield while merging at the yield sign"),
    "yield_private_drive": (
        "failed to yield the right of way from a private drive", "pulled out of a private driveway without yielding",
        "exited the parking lot without yielding to traffic", "failed to yield while exiting a private drive"),
    "yield_pedestrian": (
        "failed to yield the right of way to the pedestrian", "did not yield to the pedestrian in the crosswalk",
        "failed to yield to a pedestrian in the marked crosswalk", "turned without yielding to the pedestrian"),
    "disregarded_signal": (
        "disregarded the red light", "ran the red light", "failed to stop for the red traffic signal",
        "disregarded the traffic signal", "entered the intersection against a red light"),
    "disregarded_stop_sign": (
        "ran the stop sign", "disregarded the stop sign", "failed to stop at the stop sign",
        "drove through the stop sign without stopping"),
    "unsafe_lane_change": (
        "made an unsafe lane change", "changed lanes when unsafe", "changed lanes without clearance",
        "moved into the adjacent lane when it was unsafe", "merged into the next lane without checking"),
    "failed_single_lane": (
        "failed to drive in a single lane", "drifted out of its lane", "failed to maintain a single lane",
        "crossed the lane divider", "veered out of its lane of travel"),
    "improper_passing": (
        "attempted to pass unsafely", "passed in a no passing zone", "made an unsafe pass",
        "tried to pass on the shoulder", "passed another vehicle when it was unsafe"),
    "wrong_way": (
        "was traveling the wrong way", "was driving against the flow of traffic",
        "entered the highway going the wrong way", "was traveling in the wrong direction on a one-way street"),
    "turned_improperly": (
        "made an improper turn", "turned right from the wrong lane", "made a wide right turn",
        "turned improperly", "did not make a wide enough turn"),
    "driver_inattention": (
        "was not paying attention", "failed to pay attention to the road ahead", "looked away from the roadway",
        "was inattentive", "was not watching the road"),
    "cell_phone": (
        "was distracted by a cell phone", "was looking at a cell phone", "was texting while driving",
        "admitted to using a phone while driving", "was on the phone and distracted"),
    "under_influence_alcohol": (
        "was under the influence of alcohol", "was intoxicated", "showed signs of intoxication",
        "was driving while intoxicated", "had been drinking and was impaired"),
    "under_influence_drugs": (
        "was under the influence of drugs", "was impaired by narcotics",
        "admitted to smoking marijuana before driving", "appeared impaired by drugs"),
    "fatigued": (
        "fell asleep at the wheel", "was fatigued", "dozed off", "fell asleep while driving", "was drowsy"),
    "ill": (
        "suffered a medical episode", "had a seizure", "lost consciousness due to a medical condition",
        "became ill while driving", "suffered a diabetic episode"),
    "backed_without_safety": (
        "backed without safety", "was backing out of a parking space without looking",
        "reversed without checking behind", "backed up without ensuring it was safe"),
    "unsafe_start": (
        "started from a parked position unsafely", "pulled away from the curb into traffic",
        "pulled out from a parked position without yielding", "left the parking spot when it was unsafe"),
    "overcorrected": (
        "overcorrected", "jerked the wheel and overcorrected", "over-corrected back toward the roadway",
        "oversteered while returning to the lane"),
    "faulty_evasive_action": (
        "swerved to avoid an animal in the road", "took faulty evasive action",
        "swerved to avoid debris in the roadway", "braked and swerved to avoid a dog"),
    "defective_brakes": (
        "had defective brakes", "experienced brake failure", "stated the brakes failed",
        "lost braking ability", "stated the brakes did not work"),
    "pedestrian_failed_to_yield": (
        "stepped into the roadway", "entered the roadway outside of a crosswalk",
        "ran across the street against the signal", "walked into the path of traffic", "darted into the roadway"),
    "cyclist_failed_to_yield": (
        "rode through the stop sign without yielding", "rode into the roadway from the sidewalk",
        "failed to yield while riding a bicycle", "entered the intersection on a bicycle against the light",
        "swerved into the lane of traffic on a bicycle"),
}

FACTOR_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "failed_to_control_speed": ("FTCS", "ftc speed", "failed to cont speed"),
    "unsafe_speed": ("was traveling at unsafe spd",),
    "followed_too_closely": ("followed too close", "was following too close"),
    "yield_stop_sign": ("FTYROW at the stop sign", "failed to yield ROW at the stop sign"),
    "yield_turning_left": ("FTYROW turning left", "failed to yield ROW turning left"),
    "yield_yield_sign": ("FTYROW at the yield sign",),
    "yield_private_drive": ("FTYROW from a private drive", "FTYROW from the pvt drive"),
    "yield_pedestrian": ("FTYROW to the ped", "failed to yield to ped"),
    "disregarded_signal": ("ran the red lt", "disregarded the traf signal"),
    "disregarded_stop_sign": ("disregarded the stop sgn",),
    "unsafe_lane_change": ("made an unsafe lane chg", "changed lanes when unsafe (ulc)"),
    "failed_single_lane": ("FTDISL", "failed to drive in single ln"),
    "under_influence_alcohol": ("was DWI", "was intox"),
    "under_influence_drugs": ("was DUID",),
    "backed_without_safety": ("backed w/o safety",),
}

MANNER_PHRASES: dict[str, tuple[str, ...]] = {
    "rear_end": (
        "{A} struck the back of {B}", "the front of {A} contacted the back of {B}", "{A} struck {B} from behind",
        "{A} rear-ended {B}", "{A} collided with the rear of {B}", "{A} struck {B} on the back end"),
    "head_on": (
        "{A} collided head-on with {B}", "the front of {A} struck the front of {B}",
        "{A} and {B} collided front to front", "{A} struck {B} head on"),
    "angle": (
        "the front of {A} struck the side of {B}", "{A} struck {B} on the passenger side",
        "{A} collided with the left side of {B}", "{A} T-boned {B}", "{A} struck {B} broadside"),
    "left_turn": (
        "{A} turned left into the path of {B} and was struck", "{B} struck {A} as it turned left",
        "the front of {B} struck the right side of {A} in the left turn",
        "{A} was struck by {B} while making the left turn"),
    "sideswipe_same": (
        "{A} sideswiped {B}", "the right side of {A} scraped the left side of {B}", "{A} side swiped {B}",
        "{A} made side-to-side contact with {B}"),
    "sideswipe_opposite": (
        "{A} sideswiped the oncoming {B}", "the left side of {A} struck the left side of the oncoming {B}",
        "{A} clipped the driver side of the oncoming {B}", "{A} and the oncoming {B} sideswiped each other"),
    "backing": (
        "{A} backed into {B}", "the back of {A} struck {B}", "{A} reversed into the side of {B}",
        "{A} struck {B} while backing"),
    "fixed_object": (
        "{A} left the roadway and struck {OBJ}", "{A} struck {OBJ}", "the front of {A} struck {OBJ}",
        "{A} ran off the road and hit {OBJ}", "{A} collided with {OBJ}"),
    "rollover": (
        "{A} rolled over", "{A} overturned", "{A} rolled over and came to rest on its roof",
        "{A} entered the ditch and rolled several times", "{A} flipped onto its side"),
    "pedestrian": (
        "{A} struck the pedestrian, {B}", "the front of {A} struck pedestrian {B}", "{A} hit {B} who was on foot",
        "{A} struck {B} as the pedestrian crossed the roadway"),
    "cyclist": (
        "{A} struck {B} and the bicycle", "{A} collided with the bicyclist, {B}",
        "the front of {A} struck the bicycle ridden by {B}", "{A} hit {B}, who was riding a bicycle"),
}

MANNER_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "rear_end": ("{A} FD impacted {B} BD", "{A} struck {B} (AOI: FD-BD)"),
    "angle": ("{A} FD impacted {B} RD", "{A} FD impacted {B} LD"),
    "head_on": ("{A} FD impacted {B} FD",),
    "sideswipe_same": ("{A} RD impacted {B} LD",),
    "backing": ("{A} BD impacted {B}",),
}

FIXED_OBJECTS: tuple[str, ...] = (
    "a utility pole", "the concrete barrier", "a tree", "the guardrail", "a light pole", "a fence",
    "a fire hydrant", "the center median wall", "a traffic signal pole", "a brick wall", "a culvert",
    "a mailbox", "the curb and a sign post")

# Which manners each factor plausibly leads to (first listed = most typical).
FACTOR_MANNERS: dict[str, tuple[str, ...]] = {
    "failed_to_control_speed": ("rear_end", "rear_end", "rear_end", "fixed_object"),
    "unsafe_speed": ("rear_end", "fixed_object", "rollover", "head_on"),
    "followed_too_closely": ("rear_end",),
    "yield_stop_sign": ("angle",),
    "yield_turning_left": ("left_turn",),
    "yield_yield_sign": ("angle", "sideswipe_same"),
    "yield_private_drive": ("angle",),
    "yield_pedestrian": ("pedestrian",),
    "disregarded_signal": ("angle", "angle", "pedestrian", "cyclist"),
    "disregarded_stop_sign": ("angle",),
    "unsafe_lane_change": ("sideswipe_same",),
    "failed_single_lane": ("sideswipe_same", "sideswipe_opposite", "fixed_object", "head_on"),
    "improper_passing": ("sideswipe_opposite", "head_on", "sideswipe_same"),
    "wrong_way": ("head_on",),
    "turned_improperly": ("sideswipe_same", "angle", "cyclist"),
    "driver_inattention": ("rear_end", "fixed_object", "angle", "cyclist"),
    "cell_phone": ("rear_end", "fixed_object", "pedestrian"),
    "under_influence_alcohol": ("rear_end", "fixed_object", "rollover", "head_on"),
    "under_influence_drugs": ("fixed_object", "rear_end", "rollover"),
    "fatigued": ("fixed_object", "rollover", "sideswipe_opposite"),
    "ill": ("fixed_object", "rear_end"),
    "backed_without_safety": ("backing",),
    "unsafe_start": ("sideswipe_same", "angle"),
    "overcorrected": ("rollover", "fixed_object"),
    "faulty_evasive_action": ("fixed_object", "rollover"),
    "defective_brakes": ("rear_end",),
    "pedestrian_failed_to_yield": ("pedestrian",),
    "cyclist_failed_to_yield": ("cyclist",),
}

# Factors that are committed by the non-motorist, not by the vehicle that strikes them.
NON_MOTORIST_FACTORS = frozenset({"pedestrian_failed_to_yield", "cyclist_failed_to_yield"})
# Factors that can accompany another factor (a drunk driver who was also speeding).
CONTRIBUTING_FACTORS = ("under_influence_alcohol", "under_influence_drugs", "cell_phone", "driver_inattention",
                        "unsafe_speed", "fatigued")
SINGLE_VEHICLE_MANNERS = frozenset({"fixed_object", "rollover"})
NON_MOTORIST_MANNERS = frozenset({"pedestrian", "cyclist"})

# Plain-words versions for the reference summary: (active predicate, passive predicate).
FACTOR_SUMMARY: dict[str, tuple[str, ...]] = {
    "failed_to_control_speed": ("failed to control its speed", "did not control its speed"),
    "unsafe_speed": ("drove at an unsafe speed", "was going too fast"),
    "followed_too_closely": ("followed too closely", "was following too closely"),
    "yield_stop_sign": ("failed to yield at a stop sign", "did not yield after the stop sign"),
    "yield_turning_left": ("failed to yield while turning left", "turned left without yielding"),
    "yield_yield_sign": ("failed to yield at a yield sign", "did not yield at the yield sign"),
    "yield_private_drive": ("failed to yield leaving a private drive", "pulled out of a driveway without yielding"),
    "yield_pedestrian": ("failed to yield to a pedestrian", "did not yield to the pedestrian"),
    "disregarded_signal": ("ran a red light", "disregarded the traffic signal"),
    "disregarded_stop_sign": ("ran a stop sign", "disregarded the stop sign"),
    "unsafe_lane_change": ("changed lanes unsafely", "made an unsafe lane change"),
    "failed_single_lane": ("drifted out of its lane", "failed to stay in its lane"),
    "improper_passing": ("passed unsafely", "made an unsafe pass"),
    "wrong_way": ("drove the wrong way", "was going the wrong way"),
    "turned_improperly": ("turned improperly", "made an improper turn"),
    "driver_inattention": ("was not paying attention", "was inattentive"),
    "cell_phone": ("was distracted by a phone", "was using a cell phone"),
    "under_influence_alcohol": ("was driving drunk", "was under the influence of alcohol"),
    "under_influence_drugs": ("was impaired by drugs", "was under the influence of drugs"),
    "fatigued": ("fell asleep", "was fatigued"),
    "ill": ("had a medical emergency", "suffered a medical episode"),
    "backed_without_safety": ("backed without looking", "backed up unsafely"),
    "unsafe_start": ("pulled out from parking unsafely", "started from a parked position unsafely"),
    "overcorrected": ("overcorrected", "lost control after overcorrecting"),
    "faulty_evasive_action": ("swerved to avoid something in the road", "took faulty evasive action"),
    "defective_brakes": ("had brake failure", "had defective brakes"),
    "pedestrian_failed_to_yield": ("stepped into the road", "walked into traffic"),
    "cyclist_failed_to_yield": ("rode into traffic", "failed to yield on a bicycle"),
}

MANNER_SUMMARY: dict[str, tuple[str, str]] = {  # (what {A} did to {B}, what happened to {B})
    "rear_end": ("rear-ended {B}", "was rear-ended by {A}"),
    "head_on": ("hit {B} head-on", "was hit head-on by {A}"),
    "angle": ("struck {B} at an angle", "was struck broadside by {A}"),
    "left_turn": ("was hit by the oncoming {B}", "was hit by the oncoming {B}"),  # {A} is the turning unit
    "sideswipe_same": ("sideswiped {B}", "was sideswiped by {A}"),
    "sideswipe_opposite": ("sideswiped the oncoming {B}", "was sideswiped by the oncoming {A}"),
    "backing": ("struck {B} while backing", "was backed into by {A}"),
    "fixed_object": ("hit {OBJ}", "hit {OBJ}"),
    "rollover": ("rolled over", "rolled over"),
    "pedestrian": ("struck pedestrian {B}", "was struck by {A}"),
    "cyclist": ("struck cyclist {B}", "was struck by {A}"),
}
