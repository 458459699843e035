-- The application's database roles (docs/architecture.md, "The assignment boundary"). Run by a
-- superuser (or the database's owner with CREATEROLE) on the application's database, before or
-- after the migrations; running it again changes nothing but the passwords. psql variables:
--   owner_role                            runs the migrations and owns every table
--   app_role, app_password                the main role: API, worker, notifier, codec endpoint
--   assignment_role, assignment_password  the assignment service's: the schema `assignment` only
-- compose runs it from deploy/postgres/init-roles.sh; on Kubernetes the database's administrator
-- runs it once (docs/kubernetes.md):
--   psql -v owner_role=… -v app_role=tshop -v app_password=… -v assignment_role=tshop_assignment \
--     -v assignment_password=… -f deploy/postgres/roles.sql "$OWNER_DATABASE_URL"
select set_config('tshop.owner_role', :'owner_role', false),
       set_config('tshop.app_role', :'app_role', false),
       set_config('tshop.app_password', :'app_password', false),
       set_config('tshop.assignment_role', :'assignment_role', false),
       set_config('tshop.assignment_password', :'assignment_password', false);

do $roles$
declare
  owner text := current_setting('tshop.owner_role');
  app text := current_setting('tshop.app_role');
  assignment text := current_setting('tshop.assignment_role');
  login record;
begin
  for login in select * from (values (app, current_setting('tshop.app_password')), (assignment, current_setting('tshop.assignment_password'))) as l(name, password) loop
    if exists (select from pg_roles where rolname = login.name) then
      execute format('alter role %I login nosuperuser nocreatedb nocreaterole password %L', login.name, login.password);
    else
      execute format('create role %I login nosuperuser nocreatedb nocreaterole password %L', login.name, login.password);
    end if;
  end loop;
  execute format('grant connect on database %I to %I, %I', current_database(), app, assignment);

  -- The main role reads and writes the application's tables, those there are and those to come.
  execute format('grant usage on schema public to %I', app);
  execute format('grant select, insert, update, delete on all tables in schema public to %I', app);
  execute format('grant usage, select on all sequences in schema public to %I', app);
  execute format('alter default privileges for role %I in schema public grant select, insert, update, delete on tables to %I', owner, app);
  execute format('alter default privileges for role %I in schema public grant usage, select on sequences to %I', owner, app);

  -- The assignment service's schema: its role alone (migration 0017 moves its tables in).
  create schema if not exists assignment;
  execute format('alter schema assignment owner to %I', owner);
  revoke all on schema assignment from public;
  execute format('revoke all on schema assignment from %I', app);
  execute format('revoke all on all tables in schema assignment from %I', app);
  execute format('revoke all on all sequences in schema assignment from %I', app);
  execute format('grant usage on schema assignment to %I', assignment);
  execute format('grant select, insert, update, delete on all tables in schema assignment to %I', assignment);
  execute format('grant usage, select on all sequences in schema assignment to %I', assignment);
  execute format('alter default privileges for role %I in schema assignment grant select, insert, update, delete on tables to %I', owner, assignment);
  execute format('alter default privileges for role %I in schema assignment grant usage, select on sequences to %I', owner, assignment);
end
$roles$;
