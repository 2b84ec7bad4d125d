"""Scene vocabulary for synthetic crashes: places, conditions, set-up sentences, injuries.

Placeholders: {A} {B} {C} units by role (see phrases.py), {F} the unit at fault and
{O} the other party; {da} {db} directions, {loc} a location phrase, {road} {cross} roads,
{lane_a} {lane_b} lanes, {lot} a parking lot; {P} a person, {U} their unit, {H} a hospital.
"""

from __future__ import annotations

# (city, county) pairs: Texas, like the CRIS exports the tool is built for.
CITIES: tuple[tuple[str, str], ...] = (
    ("Austin", "Travis"), ("Houston", "Harris"), ("Dallas", "Dallas"), ("San Antonio", "Bexar"),
    ("Fort Worth", "Tarrant"), ("El Paso", "El Paso"), ("Arlington", "Tarrant"), ("Corpus Christi", "Nueces"),
    ("Plano", "Collin"), ("Laredo", "Webb"), ("Lubbock", "Lubbock"), ("Garland", "Dallas"), ("Irving", "Dallas"),
    ("Amarillo", "Potter"), ("Brownsville", "Cameron"), ("McKinney", "Collin"), ("Frisco", "Collin"),
    ("Pasadena", "Harris"), ("Killeen", "Bell"), ("McAllen", "Hidalgo"), ("Waco", "McLennan"),
    ("Denton", "Denton"), ("Round Rock", "Williamson"), ("Georgetown", "Williamson"), ("Tyler", "Smith"),
    ("Beaumont", "Jefferson"), ("Odessa", "Ector"), ("Midland", "Midland"), ("College Station", "Brazos"),
    ("San Marcos", "Hays"), ("Pflugerville", "Travis"), ("New Braunfels", "Comal"), ("Abilene", "Taylor"),
    ("Wichita Falls", "Wichita"), ("Edinburg", "Hidalgo"), ("Conroe", "Montgomery"), ("Temple", "Bell"),
)
STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Elm", "Cedar", "Pecan", "Lamar", "Guadalupe", "Congress", "Burnet", "Riverside", "Airport",
    "Bandera", "Culebra", "Westheimer", "Bellaire", "Red Bluff", "Texas", "Commerce", "Preston", "Hillcrest",
    "Ranch Road", "Mockingbird", "Walnut", "Willow", "Magnolia", "Broadway", "Jefferson", "Houston", "Travis",
    "Bowie", "Crockett", "Milam", "Mesquite", "Live Oak", "Sunset", "Parmer", "Slaughter", "Wells Branch",
    "Kingsley", "Shiloh", "Collins", "Cooper", "Hughes Ranch", "Wafer", "Thomas", "Plaza", "Midway", "Ridgeway",
    "Frontier", "Stassney", "William Cannon", "Braker", "Rundberg", "Blanco", "Nacogdoches", "Military",
    "Zarzamora", "Fredericksburg", "Evers", "Callaghan", "Wurzbach", "Marbach", "Potranco", "Gessner",
)
STREET_SUFFIXES: tuple[str, ...] = ("St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Pkwy", "Way", "Trl", "Ct")
NUMBERED_STREETS: tuple[str, ...] = ("1st St", "2nd St", "3rd St", "4th St", "5th Ave", "6th St", "7th St",
                                     "8th Ave", "10th St", "12th St", "15th St", "19th St", "21st St", "38th St")
HIGHWAYS: tuple[str, ...] = (
    "IH 35", "IH 10", "IH 45", "IH 20", "IH 30", "IH 635", "US 290", "US 183", "US 59", "US 281", "SH 71",
    "SH 130", "SH 6", "SH 288", "FM 1825", "FM 620", "FM 1960", "FM 2222", "Loop 360", "Loop 410",
    "Loop 1604", "Beltway 8", "Spur 69", "the IH 35 service road", "the US 290 frontage road")
RURAL_ROADS: tuple[str, ...] = ("CR 101", "CR 245", "CR 3112", "FM 969", "FM 1327", "FM 812", "SH 21", "RR 12",
                                "FM 2001", "CR 137", "FM 1431", "Old Lockhart Rd", "Hog Eye Rd")
LANES: tuple[str, ...] = ("in the inside lane", "in the outside lane", "in the right lane", "in the left lane",
                          "in the center lane", "in lane 1", "in lane 2", "in lane 3", "in the middle lane")
DIRECTIONS: tuple[str, ...] = ("north", "east", "south", "west")  # index + 2 (mod 4) is the opposite way

PARKING_LOTS: tuple[str, ...] = (
    "a grocery store parking lot", "the apartment complex parking lot", "a gas station lot",
    "the school parking lot", "a shopping center parking lot", "the church parking lot",
    "a restaurant parking lot", "the hospital parking garage", "a private driveway", "the mall parking lot")
WEATHER: dict[str, tuple[str, ...]] = {
    "Clear": ("The weather was clear.", "It was clear and dry at the time of the crash.",
              "Weather conditions were clear and the roadway was dry."),
    "Cloudy": ("It was cloudy and the roadway was dry.", "The sky was overcast; the road surface was dry."),
    "Rain": ("It was raining and the roadway was wet.", "Heavy rain was falling at the time of the crash.",
             "The roadway was wet from rain."),
    "Fog": ("Dense fog limited visibility.", "There was fog in the area and visibility was reduced."),
    "Sleet/Ice": ("The roadway was icy.", "Sleet had left ice on the roadway."),
}
LIGHT: dict[str, tuple[str, ...]] = {
    "Daylight": ("It was daylight.", "The crash occurred during daylight hours."),
    "Dark, Lighted": ("It was dark but the street lights were on.", "It was dark; the area was lit by street lights."),
    "Dark, Not Lighted": ("It was dark and the roadway was unlit.", "The area was dark with no street lighting."),
    "Dawn": ("The crash occurred at dawn.",),
    "Dusk": ("The crash occurred at dusk.", "It was getting dark at the time of the crash."),
}
TRAFFIC_CONTROL_SENTENCES: dict[str, tuple[str, ...]] = {
    "Signal Light": ("The intersection is controlled by a traffic signal.",
                     "Traffic at the intersection is controlled by signal lights."),
    "Stop Sign": ("Traffic on {road_f} is controlled by a stop sign.", "There is a stop sign for traffic on {road_f}."),
    "Yield Sign": ("Traffic entering {road_o} is controlled by a yield sign.",),
    "Marked Lanes": ("The roadway has marked lanes.",),
    "None": ("",),
}

# Injury statements by KABCO level; {U} is the person's unit, written as the narrative names it.
INJURY_SENTENCES: dict[str, tuple[str, ...]] = {
    "Possible Injury": ("{P} complained of neck pain.", "{P} complained of pain but refused transport.",
                        "{P} stated that their back hurt.", "{P} reported a possible injury."),
    "Suspected Minor Injury": ("{P} sustained minor injuries and was transported to {H}.",
                               "{P} had abrasions to the arms.", "{P} had a cut on the forehead.",
                               "{P} was transported to {H} with minor injuries."),
    "Suspected Serious Injury": ("{P} was transported to {H} with serious injuries.",
                                 "{P} suffered incapacitating injuries and was flown to {H}.",
                                 "{P} sustained a broken leg and was transported to {H}."),
    "Fatal": ("{P} was pronounced deceased at the scene.", "{P} died from their injuries at {H}.",
              "{P} was pronounced dead at {H}."),
}
NO_INJURY_SENTENCES: tuple[str, ...] = ("No injuries were reported.", "All drivers denied injury.",
                                        "There were no injuries.", "No one was injured.", "")
HOSPITALS: tuple[str, ...] = ("a local hospital", "the county hospital", "a nearby trauma center",
                              "University Hospital", "the regional medical center")
PEOPLE: dict[str, tuple[str, ...]] = {  # who was hurt, by role; {U} is their unit
    "driver": ("the driver of {U}", "{U}'s driver", "the driver of {U}"),
    "passenger": ("the passenger in {U}", "a passenger in {U}", "the front seat passenger of {U}"),
    "pedestrian": ("{U}",), "cyclist": ("{U}", "the rider of {U}"),
}

# Sentences that carry no cause: what officers write before and after the crash itself.
OFFICER_OPENINGS: tuple[str, ...] = (
    "I was dispatched to a crash at this location.", "Officers responded to a major accident.",
    "I arrived on scene and spoke with all parties.", "Officers arrived and activated body worn cameras.",
    "I was flagged down regarding a crash.", "", "", "")
STATEMENT_FRAMES: tuple[str, ...] = (
    "", "", "", "", "The driver of {W} stated that ", "A witness stated that ", "Video showed that ",
    "Evidence at the scene indicated that ", "It was determined that ", "According to the driver of {W}, ")
AFTERMATH: tuple[str, ...] = (
    "{A} sustained damage to the front end.", "{A} was disabled and towed from the scene.",
    "{B} sustained damage to the rear.", "Both vehicles were towed.", "{A} came to rest on the shoulder.",
    "The drivers exchanged information.", "{B} was drivable and left the scene.", "There were no witnesses.",
    "{F} was issued a citation.", "Approximate area of impact was in the roadway.",
    "Debris was found in the roadway.", "Dash camera video was reviewed.", "BWC available.")

LOCATIONS: tuple[str, ...] = ("in the {block} block of {road}", "on {road}", "on {road} near {cross}",
                              "in the {block} block of {road}", "on {road} just past {cross}")

# How the crash began, by manner and role. Several groups are joined in a random order,
# except rear-end, where the struck unit is described first as officers usually do.
SETUP: dict[str, dict[str, tuple[str, ...]]] = {
    "rear_end": {
        "B": ("{B} was stopped for traffic {loc}", "{B} was stationary at the red light at {road} and {cross}",
              "{B} was slowing for traffic while traveling {da} {loc}", "{B} had come to a stop {loc}",
              "{B} was stopped in the {da_bound} lanes of {road}"),
        "A": ("{A} was traveling {da} behind {B}", "{A} was also traveling {da} {loc}", "{A} was driving behind {B}",
              "{A} was following {B}"),
    },
    "head_on": {
        "A": ("{A} was traveling {da} {loc}", "{A} was driving {da} on {road}"),
        "B": ("{B} was traveling {db} {loc}", "{B} was traveling {db} in its lane of {road}"),
    },
    "angle": {
        "A": ("{A} was traveling {da} on {road}", "{A} was traveling {da} on {road} approaching {cross}",
              "{A} was driving {da} {loc}"),
        "B": ("{B} was traveling {db} on {cross}", "{B} was traveling {db} on {cross} approaching {road}",
              "{B} was entering the intersection of {road} and {cross} traveling {db}"),
    },
    "left_turn": {
        "A": ("{A} was traveling {da} on {road} and began to turn left onto {cross}",
              "{A} was in the left turn lane of {road} at {cross}", "{A} was turning left from {road} onto {cross}"),
        "B": ("{B} was traveling {db} on {road} through the intersection", "{B} was traveling {db} {loc}",
              "{B} was proceeding {db} through the intersection at {cross}"),
    },
    "sideswipe_same": {
        "A": ("{A} was traveling {da} on {road} {lane_a}", "{A} was driving {da} {loc} {lane_a}"),
        "B": ("{B} was traveling {da} {lane_b}", "{B} was traveling {da} on {road} {lane_b}"),
    },
    "sideswipe_opposite": {
        "A": ("{A} was traveling {da} on {road}, a two-lane roadway", "{A} was traveling {da} {loc}"),
        "B": ("{B} was traveling {db} on {road}", "{B} was approaching from the opposite direction"),
    },
    "backing": {
        "A": ("{A} was parked in {lot}", "{A} was in a parking space in {lot}", "{A} was stopped in {lot}"),
        "B": ("{B} was parked behind {A}", "{B} was driving through {lot}", "{B} was parked in the next space",
              "{B} was waiting in the drive aisle"),
    },
    "fixed_object": {
        "A": ("{A} was traveling {da} {loc}", "{A} was traveling {da} on {road} approaching a curve",
              "{A} was driving {da} on {road}"),
    },
    "rollover": {
        "A": ("{A} was traveling {da} on {road}", "{A} was traveling {da} on {road}, a rural two-lane road",
              "{A} was traveling {da} {loc}"),
    },
    "pedestrian": {
        "A": ("{A} was traveling {da} {loc}", "{A} was turning onto {cross} from {road}", "{A} was driving {da} on {road}"),
        "B": ("{B} was walking across {road}", "{B} was crossing {road} in the crosswalk at {cross}",
              "{B}, a pedestrian, was walking along {road}", "{B} was a pedestrian crossing {road}"),
    },
    "cyclist": {
        "A": ("{A} was traveling {da} {loc}", "{A} was driving {da} on {road}"),
        "B": ("{B} was riding a bicycle {db} on {road}", "{B}, a bicyclist, was traveling {db} along the shoulder of {road}",
              "{B} was riding a bicycle on {cross} toward {road}"),
    },
}
CHAIN_SETUP: dict[str, tuple[str, ...]] = {  # where the third unit was before it was pushed into
    "rear_end": ("{C} was stopped in front of {B}", "{C} was stopped ahead of {B} in the same lane",
                 "{C} was waiting in traffic ahead of {B}"),
    "angle": ("{C} was parked along the curb of {cross}", "{C} was stopped at the light on {cross}",
              "{C} was waiting to turn from {cross}"),
}
CHAIN_COLLISIONS: tuple[str, ...] = ("{B} was pushed forward into {C}", "the impact pushed {B} into {C}",
                                     "{B} then struck {C}", "the force caused {B} to collide with {C}")

# The at-fault unit's set-up, where its cause shapes it (it replaces that unit's group above).
FAULT_SETUP: dict[str, tuple[str, ...]] = {  # {road_f}/{road_o}: the at-fault / other unit's road
    "yield_stop_sign": ("{F} was stopped at the stop sign on {road_f} at {road_o}",
                        "{F} was stopped at the stop sign on {road_f}"),
    "disregarded_stop_sign": ("{F} was traveling {df} on {road_f} approaching the stop sign at {road_o}",
                              "{F} was traveling {df} on {road_f}"),
    "yield_private_drive": ("{F} was exiting {lot} onto {road_o}", "{F} was leaving {lot} to enter {road_o}"),
    "yield_yield_sign": ("{F} was merging onto {road_o} from the access road", "{F} was entering {road_o} from the ramp"),
    "unsafe_start": ("{F} was parked along the curb of {road_o}", "{F} was parked on the shoulder of {road_o}"),
    "pedestrian_failed_to_yield": ("{F} was standing at the curb of {road}", "{F} was walking along the side of {road}"),
    "cyclist_failed_to_yield": ("{F} was riding a bicycle on the sidewalk of {road}", "{F} was riding a bicycle on {cross}"),
    "wrong_way": ("{F} was traveling {df} in the {do_bound} lanes of {road}",),
}

NO_CAUSE_SENTENCES: tuple[str, ...] = (
    "Both drivers stated they had the right of way.", "The cause of the crash could not be determined.",
    "The drivers gave conflicting statements.", "There were no independent witnesses.", "", "")

# Details officers add that carry no cause: what the vehicles were and where people were going.
VEHICLE_MODELS: tuple[str, ...] = (
    "Ford F-150", "Chevrolet Silverado", "Toyota Camry", "Honda Civic", "Nissan Altima", "Toyota Corolla",
    "Honda Accord", "Ram 1500", "GMC Sierra", "Chevrolet Tahoe", "Ford Explorer", "Jeep Grand Cherokee",
    "Hyundai Elantra", "Kia Optima", "Toyota RAV4", "Honda CR-V", "Nissan Sentra", "Dodge Charger",
    "Chevrolet Malibu", "Ford Escape", "Toyota Tacoma", "Tesla Model 3", "Volkswagen Jetta", "Mazda CX-5",
    "Freightliner truck tractor", "Chevrolet Impala", "Dodge Grand Caravan", "Subaru Outback", "BMW 328i",
    "Ford Transit van", "Kia Soul", "Chevrolet Equinox", "Lexus RX 350", "Buick Enclave", "Ford Mustang")
VEHICLE_COLORS: tuple[str, ...] = ("white", "black", "silver", "gray", "red", "blue", "maroon", "green", "gold", "tan")
VEHICLE_DESCRIPTIONS: tuple[str, ...] = ("{U} was a {color} {year} {model}", "{U} is a {color} {model}",
                                         "{U} was described as a {year} {model}", "{U} ({color} {model})")
DRIVER_STATEMENTS: tuple[str, ...] = (
    "The driver of {U} stated that they were on their way to {place}", "The driver of {U} was headed to {place}",
    "The driver of {U} said they had just left {place}", "The driver of {U} was returning from {place}")
PLACES: tuple[str, ...] = ("work", "school", "home", "the grocery store", "a doctor's appointment", "church",
                           "a friend's house", "the gym", "the airport", "a job site", "lunch", "the bank")
