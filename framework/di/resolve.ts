import type { Container } from "inversify";
import { DiError, DiErrorCode } from "./errors.js";
import type { StateMachineProvider } from "./state-machine-provider.js";
import { StateMachineProviderToken, tokenName } from "./tokens.js";

/** Fails with MissingBinding naming the token when nothing is bound to it. */
export function requireBinding(container: Container, token: symbol, why: string): void {
  if (container.isBound(token)) return;
  const name = tokenName(token);
  const message = `no binding for ${name} (${why})`;
  throw new DiError(DiErrorCode.MissingBinding, message, { subject: name });
}

/**
 * Resolves a bound token; a failure inside (a dependency of the bound class
 * with no binding, a throwing constructor) becomes ResolutionFailed, whose
 * message carries inversify's, which names the missing service identifier.
 */
export function resolveBound<T>(container: Container, token: symbol, why: string): T {
  requireBinding(container, token, why);
  try {
    return container.get<T>(token);
  } catch (error) {
    throw resolutionFailed(token, error);
  }
}

function resolutionFailed(token: symbol, error: unknown): DiError {
  const name = tokenName(token);
  const detail = error instanceof Error ? error.message : String(error);
  return new DiError(DiErrorCode.ResolutionFailed, `cannot resolve ${name}: ${detail}`, {
    subject: name,
    cause: error,
  });
}

function checkProvider(provider: unknown, index: number): StateMachineProvider {
  const at = `StateMachineProviderToken binding ${index}`;
  const invalid = (message: string): DiError =>
    new DiError(DiErrorCode.InvalidProvider, `${at}: ${message}`, {
      subject: "StateMachineProviderToken",
    });
  if (typeof provider !== "object" || provider === null) throw invalid("not an object");
  if (!("type" in provider) || typeof provider.type !== "string" || provider.type.length === 0) {
    throw invalid("type must be a non-empty string");
  }
  if (!("create" in provider) || typeof provider.create !== "function") {
    throw invalid(`type "${provider.type}": create(partition, replicaId) is missing`);
  }
  // Shape checked member by member above; the interface has no other members.
  return provider as StateMachineProvider;
}

/** Every bound provider, by type; at least one; types unique. */
export function resolveProviders(container: Container): ReadonlyMap<string, StateMachineProvider> {
  requireBinding(container, StateMachineProviderToken, "bind one per state machine type");
  let resolved: unknown[];
  try {
    resolved = container.getAll<unknown>(StateMachineProviderToken);
  } catch (error) {
    throw resolutionFailed(StateMachineProviderToken, error);
  }
  const providers = new Map<string, StateMachineProvider>();
  resolved.forEach((candidate, index) => {
    const provider = checkProvider(candidate, index);
    if (providers.has(provider.type)) {
      throw new DiError(
        DiErrorCode.DuplicateType,
        `two StateMachineProviders claim type "${provider.type}"; each type needs exactly one`,
        { subject: provider.type },
      );
    }
    providers.set(provider.type, provider);
  });
  return providers;
}
