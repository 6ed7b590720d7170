/**
 * The calling client, as the Lambda REQUEST authorizer (functions/authorizer) established it.
 * Handlers read the client only from the authorizer's context: never from the API key id,
 * which changes when a key is rotated or the stack that holds it is redeployed.
 */
export function authorizedClientId(event: {
  requestContext?: { authorizer?: Record<string, unknown> | null } | null;
}): string | undefined {
  const clientId = event.requestContext?.authorizer?.clientId;
  return typeof clientId === 'string' && clientId !== '' ? clientId : undefined;
}
