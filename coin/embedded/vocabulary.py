"""The embedded corpus vocabulary: our own small word lists, grouped so labels can follow clear cues.

Every list here was written for this project. The mirror generator (coin.embedded.mirror) builds all
sentences from these words with a small grammar, so a tiny model trained from scratch can learn the
cues: polar adjectives for sentiment, hypernyms / antonyms / extra clauses for NLI, synonym swaps for
paraphrase, topic words for news, question words for TREC.
"""

from __future__ import annotations

# --- people and names -------------------------------------------------------------------------
PEOPLE: tuple[str, ...] = (
    "teacher", "farmer", "doctor", "pilot", "baker", "singer", "student", "nurse", "painter", "driver",
    "lawyer", "chef", "sailor", "writer",
)
PERSON_HYPERNYM = "person"
PERSON_ADJECTIVES: tuple[str, ...] = ("young", "tall", "tired", "happy", "busy", "quiet", "friendly", "clever")

FEMALE_NAMES: tuple[str, ...] = ("Anna", "Carla", "Elena", "Grace", "Iris", "Kira", "Maya", "Nora", "Paula", "Rosa")
MALE_NAMES: tuple[str, ...] = ("Ben", "David", "Frank", "Hugo", "Jonas", "Leo", "Omar", "Sam", "Victor", "Tomas")

# --- things ------------------------------------------------------------------------------------
# hypernym -> nouns; the hypernym phrase is what an entailed hypothesis may say instead
OBJECTS: dict[str, tuple[str, ...]] = {
    "fruit": ("apple", "pear", "plum", "lemon", "orange", "peach", "melon"),
    "vehicle": ("car", "truck", "bicycle", "boat", "bus", "wagon"),
    "tool": ("hammer", "ladder", "rope", "shovel", "drill", "axe"),
    "furniture": ("table", "chair", "bench", "shelf", "desk", "bed"),
    "clothing": ("coat", "hat", "scarf", "jacket", "glove", "boot"),
    "document": ("letter", "map", "book", "report", "note", "ticket"),
}
HYPERNYM_PHRASES: dict[str, str] = {
    "fruit": "some fruit", "vehicle": "a vehicle", "tool": "a tool", "furniture": "some furniture",
    "clothing": "some clothing", "document": "a document",
}
OBJECT_ADJECTIVES: tuple[str, ...] = (
    "red", "blue", "green", "yellow", "black", "white", "big", "small", "old", "new", "clean", "dirty",
    "heavy", "cheap", "expensive", "wet", "dry",
)
OBJECT_ADJECTIVE_ANTONYMS: dict[str, str] = {
    "big": "small", "small": "big", "old": "new", "new": "old", "clean": "dirty", "dirty": "clean",
    "heavy": "light", "cheap": "expensive", "expensive": "cheap", "wet": "dry", "dry": "wet",
}
ADJECTIVE_SYNONYMS: dict[str, str] = {
    "big": "large", "small": "tiny", "cheap": "inexpensive", "expensive": "costly", "dirty": "filthy",
    "happy": "cheerful", "tired": "weary", "quiet": "silent", "clever": "smart",
}
IRREGULAR_PLURALS: dict[str, str] = {"shelf": "shelves", "person": "people", "child": "children"}

# --- verbs: base -> (past, third person, gerund, past participle) ------------------------------
VERBS: dict[str, tuple[str, str, str, str]] = {
    "buy": ("bought", "buys", "buying", "bought"),
    "sell": ("sold", "sells", "selling", "sold"),
    "find": ("found", "finds", "finding", "found"),
    "lose": ("lost", "loses", "losing", "lost"),
    "open": ("opened", "opens", "opening", "opened"),
    "close": ("closed", "closes", "closing", "closed"),
    "build": ("built", "builds", "building", "built"),
    "break": ("broke", "breaks", "breaking", "broken"),
    "lift": ("lifted", "lifts", "lifting", "lifted"),
    "drop": ("dropped", "drops", "dropping", "dropped"),
    "wash": ("washed", "washes", "washing", "washed"),
    "paint": ("painted", "paints", "painting", "painted"),
    "repair": ("repaired", "repairs", "repairing", "repaired"),
    "carry": ("carried", "carries", "carrying", "carried"),
    "clean": ("cleaned", "cleans", "cleaning", "cleaned"),
    "read": ("read", "reads", "reading", "read"),
    "write": ("wrote", "writes", "writing", "written"),
    "pick": ("picked", "picks", "picking", "picked"),
    "drive": ("drove", "drives", "driving", "driven"),
    "purchase": ("purchased", "purchases", "purchasing", "purchased"),
    "fix": ("fixed", "fixes", "fixing", "fixed"),
    "discover": ("discovered", "discovers", "discovering", "discovered"),
    "shut": ("shut", "shuts", "shutting", "shut"),
    "gather": ("gathered", "gathers", "gathering", "gathered"),
    "construct": ("constructed", "constructs", "constructing", "constructed"),
    "raise": ("raised", "raises", "raising", "raised"),
    "tidy": ("tidied", "tidies", "tidying", "tidied"),
    # verbs between two people (paws, wnli, wsc)
    "thank": ("thanked", "thanks", "thanking", "thanked"),
    "visit": ("visited", "visits", "visiting", "visited"),
    "call": ("called", "calls", "calling", "called"),
    "help": ("helped", "helps", "helping", "helped"),
    "follow": ("followed", "follows", "following", "followed"),
    "praise": ("praised", "praises", "praising", "praised"),
    "greet": ("greeted", "greets", "greeting", "greeted"),
    "teach": ("taught", "teaches", "teaching", "taught"),
    "pay": ("paid", "pays", "paying", "paid"),
    "invite": ("invited", "invites", "inviting", "invited"),
    "warn": ("warned", "warns", "warning", "warned"),
    "hire": ("hired", "hires", "hiring", "hired"),
}
# which object classes each transitive verb takes (the verbs used with things)
VERB_OBJECTS: dict[str, tuple[str, ...]] = {
    "buy": tuple(OBJECTS), "sell": tuple(OBJECTS), "find": tuple(OBJECTS), "lose": tuple(OBJECTS),
    "carry": tuple(OBJECTS), "open": ("document", "vehicle"), "close": ("document", "vehicle"),
    "build": ("furniture", "vehicle"), "break": ("furniture", "tool"), "lift": ("tool", "furniture", "fruit"),
    "drop": ("tool", "furniture", "fruit"), "wash": ("fruit", "vehicle", "clothing"),
    "paint": ("vehicle", "furniture"), "repair": ("vehicle", "tool", "furniture", "clothing"),
    "clean": ("vehicle", "furniture", "tool", "clothing"), "read": ("document",), "write": ("document",),
    "pick": ("fruit",), "drive": ("vehicle",),
}
VERB_ANTONYMS: dict[str, str] = {
    "buy": "sell", "sell": "buy", "find": "lose", "lose": "find", "open": "close", "close": "open",
    "build": "break", "break": "build", "lift": "drop", "drop": "lift",
}
VERB_SYNONYMS: dict[str, str] = {
    "buy": "purchase", "repair": "fix", "find": "discover", "close": "shut", "pick": "gather",
    "build": "construct", "lift": "raise", "clean": "tidy",
}
PEOPLE_VERBS: tuple[str, ...] = ("thank", "visit", "call", "help", "follow", "praise", "greet", "teach", "pay", "invite", "warn", "hire")

# --- where and when ----------------------------------------------------------------------------
PLACES: dict[str, str] = {  # place -> preposition
    "market": "at", "park": "in", "station": "at", "kitchen": "in", "school": "at", "garden": "in",
    "harbor": "at", "village": "in", "library": "at", "bakery": "at", "farm": "on", "hospital": "at",
    "office": "in", "bridge": "near", "river": "near", "forest": "in", "beach": "on", "museum": "at",
}
TIMES: tuple[str, ...] = (
    "on monday", "on tuesday", "on wednesday", "on thursday", "on friday", "on saturday", "on sunday",
    "in the morning", "in the evening", "at night", "at noon", "yesterday", "last week", "last winter",
)
DAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# extra details that only neutral hypotheses add (never in premises)
REASONS: tuple[str, ...] = (
    "because it was raining", "to help a neighbor", "for a wedding", "before the storm", "to earn some money",
    "for the first time", "after a long argument", "as a birthday gift",
)
MANNER_ADVERBS: tuple[str, ...] = ("quickly", "slowly", "carefully", "happily", "secretly", "proudly")

# --- sentiment ---------------------------------------------------------------------------------
POSITIVE_ADJECTIVES: tuple[str, ...] = (
    "wonderful", "delightful", "brilliant", "superb", "charming", "excellent", "lovely", "gripping",
    "fantastic", "pleasant", "stunning", "memorable", "warm", "fresh", "inspiring",
)
NEGATIVE_ADJECTIVES: tuple[str, ...] = (
    "awful", "dreadful", "boring", "dull", "clumsy", "terrible", "tedious", "bland", "annoying",
    "painful", "messy", "weak", "stale", "horrible", "forgettable",
)
POSITIVE_VERBS: tuple[str, ...] = ("loved", "enjoyed", "adored", "admired")
NEGATIVE_VERBS: tuple[str, ...] = ("hated", "disliked", "regretted", "resented")
INTENSIFIERS: tuple[str, ...] = ("really", "truly", "quite", "very", "so")
FILM_ASPECTS: tuple[str, ...] = ("plot", "acting", "music", "ending", "script", "cast", "story", "dialogue", "pacing", "camera work")
FILM_WORDS: tuple[str, ...] = ("film", "movie", "picture", "drama", "comedy", "thriller")
FOOD_ASPECTS: tuple[str, ...] = ("food", "service", "soup", "pasta", "dessert", "coffee", "staff", "bread", "salad", "music")
MEALS: tuple[str, ...] = ("lunch", "dinner", "breakfast", "brunch")
TWEET_TOPICS: tuple[str, ...] = ("day", "morning", "weekend", "trip", "exam", "weather", "traffic", "concert", "game", "class", "coffee", "party")

# --- news topics (ag_news: World, Sports, Business, Sci/Tech) ----------------------------------
COUNTRIES: tuple[str, ...] = ("Norvania", "Keldoria", "Ustrava", "Belmora", "Tarsia", "Ostland")
CITIES: tuple[str, ...] = ("Port Elra", "Venmouth", "Harlow", "Mirren", "Dunholt", "Calder")
AGENCIES: tuple[str, ...] = ("Newsline", "Wirepost", "Courier")
TOPIC_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "World": {
        "actors": ("minister", "president", "rebels", "diplomats", "parliament", "troops"),
        "actions": ("signed a treaty", "called an election", "closed the border", "agreed to a ceasefire", "held a summit", "sent envoys"),
        "objects": ("the embassy", "the refugees", "the capital", "the government", "the peace talks", "the vote"),
    },
    "Sports": {
        "actors": ("striker", "coach", "goalkeeper", "captain", "champions", "fans"),
        "actions": ("won the final", "scored twice", "lost the match", "reached the playoffs", "broke the record", "signed a contract"),
        "objects": ("the league", "the tournament", "the stadium", "the season", "the referee", "the championship"),
    },
    "Business": {
        "actors": ("investors", "the retailer", "the bank", "shareholders", "the company", "analysts"),
        "actions": ("reported higher profits", "cut jobs", "announced a merger", "raised prices", "sold shares", "missed forecasts"),
        "objects": ("the stock market", "quarterly earnings", "the factory", "annual sales", "interest rates", "the revenue"),
    },
    "Sci/Tech": {
        "actors": ("researchers", "scientists", "engineers", "the software maker", "astronomers", "programmers"),
        "actions": ("launched a satellite", "released new software", "built a robot", "found a planet", "designed a chip", "fixed a security flaw"),
        "objects": ("the internet", "the telescope", "the laboratory", "the network", "the computer", "the data"),
    },
}

# --- trec: coarse class -> (fine label id, question pattern) ------------------------------------
# Fine label ids follow CogComp/trec's fine_label order (e.g. 29 HUM:ind, 38 NUM:count).
TREC_FINE_IDS: dict[str, int] = {
    "ABBR:abb": 0, "ABBR:exp": 1, "ENTY:animal": 2, "ENTY:color": 4, "ENTY:food": 9, "ENTY:sport": 17,
    "ENTY:veh": 22, "DESC:def": 24, "DESC:manner": 26, "DESC:reason": 27, "HUM:gr": 28, "HUM:ind": 29,
    "LOC:city": 32, "LOC:country": 33, "LOC:other": 35, "NUM:count": 38, "NUM:date": 39, "NUM:dist": 40,
    "NUM:money": 41, "NUM:period": 44,
}
SPORTS: tuple[str, ...] = ("football", "tennis", "rowing", "cycling", "chess", "swimming")
ORGANIZATIONS: tuple[str, ...] = ("trade council", "river authority", "health board", "farmers union", "city museum")

# --- wic: polysemous word -> two senses, each a few contexts ({p} = a person noun) -------------
POLYSEMOUS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bank": (
        ("The {p} rested on the grassy bank of the river.", "Reeds grew along the muddy bank near the bridge.", "The boat drifted toward the far bank."),
        ("The {p} saved money at the bank.", "The bank approved a loan for the {p}.", "The {p} opened an account at the bank."),
    ),
    "bat": (
        ("A bat flew out of the cave at night.", "The {p} saw a bat hanging from the roof.", "The bat hunted insects near the barn."),
        ("The {p} swung the bat and hit the ball.", "The coach gave the {p} a wooden bat.", "The {p} dropped the bat after the game."),
    ),
    "light": (
        ("The box was light enough for the {p} to carry.", "The {p} packed a light bag for the trip.", "The new bicycle is very light."),
        ("The {p} turned on the light in the kitchen.", "The light above the desk was broken.", "The {p} read by the light of a lamp."),
    ),
    "spring": (
        ("The flowers in the garden bloom every spring.", "The {p} planted seeds in early spring.", "The river floods each spring."),
        ("A spring in the old chair was broken.", "The {p} replaced the spring inside the clock.", "The spring pushed the door shut."),
    ),
    "bark": (
        ("The bark of the old tree was rough.", "The {p} peeled bark from a branch.", "Moss covered the bark of the oak."),
        ("The bark of the dog woke the {p}.", "The {p} heard a loud bark outside.", "The puppy gave a short bark."),
    ),
    "match": (
        ("The {p} watched the match at the stadium.", "Our team lost the match on sunday.", "The match ended in a draw."),
        ("The {p} lit a match to start the fire.", "The {p} struck a match in the dark.", "The last match was wet."),
    ),
    "wave": (
        ("A huge wave hit the boat.", "The {p} swam under a wave at the beach.", "Each wave crashed on the rocks."),
        ("The {p} gave a friendly wave from the window.", "The {p} answered with a small wave.", "A wave of the hand ended the meeting."),
    ),
    "ring": (
        ("The {p} wore a gold ring.", "The {p} lost a silver ring in the garden.", "The ring had a small stone."),
        ("The {p} heard the ring of the bell at noon.", "The ring of the phone woke the baby.", "A loud ring came from the hall."),
    ),
    "seal": (
        ("A seal swam near the harbor.", "The {p} saw a seal resting on the rocks.", "The young seal dived for fish."),
        ("The {p} broke the seal on the letter.", "The seal on the jar was tight.", "The {p} checked the seal of the box."),
    ),
    "fair": (
        ("The judge was fair to the {p}.", "The {p} asked for a fair price.", "The teacher gave a fair grade."),
        ("The {p} rode a pony at the fair.", "The village fair opens on friday.", "The {p} won a prize at the fair."),
    ),
}

# --- wnli / wsc: two people, a pronoun, and a reason that points at one of them -----------------
# (verb phrase between X and Y, reason clause after the pronoun, which one the pronoun means)
PRONOUN_FRAMES: tuple[tuple[str, str, str], ...] = (
    ("thanked", "had helped with the move", "Y"),
    ("called", "needed advice", "X"),
    ("paid", "had finished the work", "Y"),
    ("visited", "was sick", "Y"),
    ("helped", "was strong", "X"),
    ("waited for", "was late", "Y"),
    ("hid from", "was afraid", "X"),
    ("praised", "had won the race", "Y"),
    ("asked", "was lost", "X"),
    ("followed", "knew the way", "Y"),
    ("apologized to", "had been rude", "X"),
    ("scolded", "was careless", "Y"),
    ("forgave", "was kind", "X"),
    ("comforted", "was crying", "Y"),
)

# --- qqp: question intents, each with several equivalent frames ({v} verb base, {o} object) ----
QUESTION_INTENTS: dict[str, tuple[str, ...]] = {
    "how": ("How do I {v} a {o}?", "What is the best way to {v} a {o}?", "How can I {v} a {o}?", "What should I do to {v} a {o}?"),
    "where": ("Where can I {v} a cheap {o}?", "Where is the best place to {v} an inexpensive {o}?", "Which place is good to {v} a cheap {o}?"),
    "why": ("Why is my {o} so {a}?", "What makes my {o} so {a}?", "What is the reason my {o} is so {a}?"),
    "which": ("Which {o} should a {p} choose?", "What is the best {o} for a {p}?", "What {o} do you recommend for a {p}?"),
}
