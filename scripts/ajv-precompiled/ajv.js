// Replaced at build time by loader.cjs (ajv's standalone validators for core/schema/*.schema.json).
