"""The answer: from the engine's findings to what a patient and a nurse read.

For whoever changes what an answer says. `assess` runs a report through the engine and builds the
`Assessment` (`model`); `phrasebook` words each finding, `message` picks the one message and the
advice, `safety_net` says what would make it more urgent, `languages` gives the patient's words
in their language, `schema` is the JSON shape.
"""
