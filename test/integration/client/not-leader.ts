/**
 * Recognising the gateway's NotLeader refusal in answers read as JSON (curl,
 * buf curl), for tests that send requests by hand to "the leader": a
 * partition's leader can move between two calls on a loaded box (a leader
 * starved of CPU misses its heartbeats; the test clusters' election timeout
 * is 1 s), and the node then refuses with NotLeader. That refusal is
 * definite — nothing was proposed — so the request may go again to the new
 * leader, as every client of the gateway does. Nothing else is recognised
 * here: any other answer stays the test's to judge.
 */

/** The NotLeader detail's type name, as Connect JSON errors and buf curl print it. */
export const notLeaderDetailType = "raftkit.v1.NotLeader";

/** Whether a Connect JSON error body (an Execute answer) is a NotLeader refusal. */
export function isNotLeaderAnswer(body: string): boolean {
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof answer !== "object" || answer === null) return false;
  const { code, details } = answer as { code?: unknown; details?: unknown };
  return (
    code === "failed_precondition" &&
    Array.isArray(details) &&
    details.some((detail: unknown) => isDetailOfType(detail, notLeaderDetailType))
  );
}

/** Whether one outcome of an ExecuteBatch answer (as JSON) is a NotLeader refusal. */
export function isNotLeaderOutcome(outcome: unknown): boolean {
  if (typeof outcome !== "object" || outcome === null || !("failure" in outcome)) return false;
  const failure = outcome.failure;
  return typeof failure === "object" && failure !== null && "notLeader" in failure;
}

/** Whether buf curl's error output (gRPC) is a NotLeader refusal. */
export function isNotLeaderOutput(output: string): boolean {
  return /failed_precondition/.test(output) && output.includes(notLeaderDetailType);
}

function isDetailOfType(detail: unknown, type: string): boolean {
  return typeof detail === "object" && detail !== null && "type" in detail && detail.type === type;
}
