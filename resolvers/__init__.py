"""Query resolvers: argument checks, cursors and the rules that derive displayed values."""
