"""The Strawberry schema: types, inputs, enums and scalars; ``schema.build`` assembles them.

Nothing is imported here, so a module can use ``schema.enums`` or ``schema.scalars`` without
assembling the schema (which imports the resolvers that use them).
"""
