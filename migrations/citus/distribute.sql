-- Distribute the krslab schema over a Citus cluster. Run once on the coordinator, after
-- `krslab migrate` and before loading data:
--
--   psql "$DATABASE_URL" -f migrations/citus/distribute.sql
--
-- Small, rarely written tables that every node joins against become reference tables
-- (copied to every node). The large tables are distributed by experiment_id and co-located,
-- so that everything one experiment touches (assignment, responses, results) runs on one
-- node: every primary key, unique constraint and foreign key among them includes
-- experiment_id, and every query of the service filters on it.
--
-- Tables left out stay local on the coordinator: audit_log (low volume, read by admins),
-- console_sessions and sign_in_links (the console's sign-ins) and goose_db_version (the
-- migration bookkeeping).

BEGIN;

-- Citus distributes no table with triggers unless citus.enable_unsafe_triggers is on, and
-- assignments and responses have them (00010): it is set first, before any table moves.
-- The triggers read and write only the co-located shards of the same experiment (see
-- responses below), which is what makes them safe here.
SET LOCAL citus.enable_unsafe_triggers = on;

-- Reference tables.
SELECT create_reference_table('outcomes');
SELECT create_reference_table('outcome_components');
SELECT create_reference_table('api_keys');
-- Attributes belong to customers, not experiments, and every experiment's segmented results
-- join them with its answers: a reference table lets that join run on the experiment's node.
SELECT create_reference_table('customer_attributes');
-- The key sets of responses (00012) are few and never change; every node reads them. (A
-- cluster distributed before 00012 runs this one line after `krslab migrate`.)
SELECT create_reference_table('answer_key_sets');
-- The version of all customers' attributes (00016), one row that every segmented analysis
-- reads beside its experiment's.
SELECT create_reference_table('attribute_data');
-- A reference table may not point into a distributed one: the decision arm is checked by
-- the service instead (Service.Decide accepts only an arm of the experiment).
ALTER TABLE experiments DROP CONSTRAINT experiments_decision_arm_fk;
SELECT create_reference_table('experiments');

-- Distributed, co-located by experiment_id.
SELECT create_distributed_table('arms', 'experiment_id');
SELECT create_distributed_table('experiment_outcomes', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('assignments', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('responses', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('covariates', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('sequential_looks', 'experiment_id', colocate_with => 'arms');
-- Answers live in their response's row (00010); the views answers and latest_answers read
-- responses. The trigger on responses (responses_written, 00019: the checks, the alerts and
-- the data version) reads and writes only the co-located shards of the same experiment
-- (hence citus.enable_unsafe_triggers = on, set above); the advisory lock that orders
-- writers of an experiment's responses is taken on the coordinator and, by the trigger, on
-- the node of the experiment's shard.
-- Alerts (00006): rules, webhook, alerts and their deliveries and attempts, all keyed by
-- experiment_id first.
SELECT create_distributed_table('alert_rules', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('alert_webhooks', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('alerts', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('webhook_deliveries', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('webhook_attempts', 'experiment_id', colocate_with => 'arms');
-- Data versions and analysis headlines (00016): the triggers on responses and covariates
-- move the version of the same experiment, in its co-located shard. The console's list
-- (Overview) joins them with experiments, a reference table.
SELECT create_distributed_table('experiment_data', 'experiment_id', colocate_with => 'arms');
SELECT create_distributed_table('result_headlines', 'experiment_id', colocate_with => 'arms');

COMMIT;
