-- The database behind go-core in the full-stack tracing test: organisations,
-- their teams, who is in each team, and what each team may do.
-- Deterministic data, so every run returns the same answer:
--   600 organisations, 8 teams each (4,800 teams),
--   32 memberships per team (153,600 rows), 3 to 6 permissions per team.
-- team_memberships has no index on team_id: looking up one team's members
-- scans the table (about 10 ms here, against well under 1 ms for an indexed
-- lookup), which is the slow query a trace of /organizations/1/permissions
-- points at. permissions is indexed on team_id.

CREATE TABLE organizations (
  id   bigint PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE teams (
  id              bigint PRIMARY KEY,
  organization_id bigint NOT NULL REFERENCES organizations (id),
  name            text NOT NULL
);
CREATE INDEX teams_organization_id ON teams (organization_id);

CREATE TABLE team_memberships (
  id      bigint PRIMARY KEY,
  team_id bigint NOT NULL REFERENCES teams (id),
  user_id bigint NOT NULL,
  role    text NOT NULL
);

CREATE TABLE permissions (
  id       bigint PRIMARY KEY,
  team_id  bigint NOT NULL REFERENCES teams (id),
  action   text NOT NULL,
  resource text NOT NULL
);
CREATE INDEX permissions_team_id ON permissions (team_id);

INSERT INTO organizations (id, name)
SELECT o, CASE o WHEN 1 THEN 'Acme Corp' ELSE 'Organization ' || o END
FROM generate_series(1, 600) AS o;

INSERT INTO teams (id, organization_id, name)
SELECT (o - 1) * 8 + t, o,
       (ARRAY['Platform', 'Billing', 'Support', 'Security',
              'Data', 'Mobile', 'Web', 'Operations'])[t]
FROM generate_series(1, 600) AS o, generate_series(1, 8) AS t;

INSERT INTO team_memberships (id, team_id, user_id, role)
SELECT (team - 1) * 32 + m, team, ((team * 7 + m * 13) % 5000) + 1,
       CASE WHEN m = 1 THEN 'lead' ELSE 'member' END
FROM generate_series(1, 4800) AS team, generate_series(1, 32) AS m;

INSERT INTO permissions (id, team_id, action, resource)
SELECT (team - 1) * 6 + p, team,
       (ARRAY['read', 'write', 'admin'])[1 + (p + team) % 3],
       (ARRAY['billing', 'repos', 'tickets', 'secrets', 'reports', 'deploys'])[p]
FROM generate_series(1, 4800) AS team, generate_series(1, 6) AS p
WHERE p <= 3 + team % 4;

ANALYZE;
