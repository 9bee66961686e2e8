"""What a client gets over HTTP: queries, paging, operations, persisted queries, errors, the SDL, GraphiQL."""
