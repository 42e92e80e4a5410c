"""Every PostgreSQL advisory lock Rectify takes, by number: one list, so no two uses ever share a number.

The numbers are arbitrary but fixed (a running system and its migrations agree on them); the shared prefix
7_310_425 keeps them apart from locks other software on the same server may take.
"""

#: Serialises workers that migrate at the same moment (store/migrate.py).
MIGRATION = 7_310_425_001
#: Held by `rectify_append` (migrations 0008 and 0009, where the number is written out) to its commit, so
#: positions appear in commit order. A fault test holds it to catch an append in the middle.
POSITION = 7_310_425_002
#: Taken before a checkpoint's snapshot, so two checkpoints never share a number or go backwards.
CHECKPOINT = 7_310_425_003
#: Gives each week's bulletin its number (第N期) once, in order.
BULLETIN_NUMBER = 7_310_425_004
