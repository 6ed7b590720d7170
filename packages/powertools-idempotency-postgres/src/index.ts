export {
  IdempotencyClaimLostError,
  idempotencyStatements,
  PostgresPersistenceLayer,
  type PostgresPersistenceLayerOptions,
  type Queryable,
} from './postgres-persistence-layer.ts';
