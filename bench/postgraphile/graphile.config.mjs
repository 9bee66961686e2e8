// PostGraphile 5 over the benchmark database: the amber preset, production settings, one pool.
//
// Read by server.mjs (and by `npx postgraphile -C graphile.config.mjs` to look at the schema).
// Environment:
//   PG5_DATABASE_URL  postgresql://... as the tables' owner or as the reader role
//   PG5_JWT_SECRET    the HS256 key the benchmark's bearer tokens are signed with
//   PG5_TENANT_SETTING  "on": every request's transaction sets sessions_gateway.tenant_id to the
//                       token's tenant (pgSettings), which row-level security reads. Off: no
//                       pgSettings, so no transaction (the owner is not subject to the policies).
import jwt from "jsonwebtoken";
import pg from "pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { addPgTableCondition, jsonPgSmartTags } from "postgraphile/utils";

const TENANT_SETTING = "sessions_gateway.tenant_id";
const POOL_SIZE = 10;

// Statements sent to PostgreSQL, leaving out (as the gateway's count does) transaction control and
// the statement that applies pgSettings (the tenant setting) at the start of each transaction.
export const sent = { statements: 0 };
const CONTROL = /^\s*(begin|commit|rollback|savepoint|release savepoint|select set_config\(el->>0)\b/i;

export function makePool(connectionString) {
  const pool = new pg.Pool({ connectionString, max: POOL_SIZE });
  pool.on("connect", (client) => {
    const query = client.query;
    client.query = function countedQuery(config, ...rest) {
      const text = typeof config === "string" ? config : config?.text;
      if (typeof text === "string" && !CONTROL.test(text)) sent.statements += 1;
      return query.call(this, config, ...rest);
    };
  });
  return pool;
}

// The tenant of a valid bearer token (HS256, `exp` and `tenant_id` required, as the gateway asks);
// anything else is answered 401 (grafserv takes the status from the error the context throws).
function tenantOf(req, secret) {
  const [scheme, token] = (req?.headers?.authorization ?? "").split(" ");
  let claims = null;
  if (scheme?.toLowerCase() === "bearer" && token) {
    try {
      claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
    } catch {
      claims = null;
    }
  }
  if (typeof claims?.exp !== "number" || typeof claims.tenant_id !== "string" || !claims.tenant_id) {
    throw Object.assign(new Error("Invalid token."), { statusCode: 401 });
  }
  return claims.tenant_id;
}

// `startedAfter` (inclusive) and `startedBefore` (exclusive) on SessionCondition, as the gateway's
// filter of the same names bounds `started_at`: amber's conditions compare equality only.
function startedAtBound(fieldName, operator, description) {
  return addPgTableCondition(
    { schemaName: "public", tableName: "sessions" },
    fieldName,
    (build) => ({ description, type: build.getTypeByName("Datetime") }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.started_at ${sql.raw(operator)} ${sqlValueWithCodec(value, build.dataplanPg.TYPES.timestamptz)}`,
  );
}

// Amber offers conditions and orders only on columns an index covers, and skips partial indexes:
// those the gateway reads through are all partial (WHERE deleted_at IS NULL, which every request
// below filters on too). These columns lead or follow tenant_id in them.
const INDEXED = ["sessions.tenant_id", "sessions.deleted_at", "sessions.status", "sessions.role", "sessions.started_at"];
const indexedColumns = jsonPgSmartTags({
  version: 1,
  config: {
    attribute: Object.fromEntries(
      [...INDEXED, "procedures.position"].map((column) => [column, { tags: { isIndexed: true } }]),
    ),
  },
});

export function makePreset(env = process.env) {
  const secret = env.PG5_JWT_SECRET;
  if (!env.PG5_DATABASE_URL || !secret) throw new Error("PG5_DATABASE_URL and PG5_JWT_SECRET are required");
  const tenantSetting = env.PG5_TENANT_SETTING === "on";
  return {
    extends: [PostGraphileAmberPreset],
    plugins: [
      indexedColumns,
      startedAtBound("startedAfter", ">=", "Sessions started at or after this instant."),
      startedAtBound("startedBefore", "<", "Sessions started before this instant."),
    ],
    pgServices: [makePgService({ pool: makePool(env.PG5_DATABASE_URL), schemas: ["public"] })],
    grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false, websockets: false },
    grafast: {
      explain: false,
      context(requestContext) {
        const tenant = tenantOf(requestContext.node?.req, secret);
        return tenantSetting ? { pgSettings: { [TENANT_SETTING]: tenant } } : {};
      },
    },
  };
}
