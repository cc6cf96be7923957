// The order a run works through its items: item-major (each scenario and epoch under every condition in
// turn) rather than the plan's condition-major order. With a batching local engine, the conditions of one
// item — a sweep's strengths — are then in flight together and share decode batches; any order gives the
// same results, since every item is independent and stored by id.
export function itemMajor<T extends { model: string; scenarioId: string; epoch: number }>(
  items: readonly T[],
): T[] {
  const key = (it: T) => `${it.model}\u0000${it.scenarioId}\u0000${it.epoch}`;
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  return [...groups.values()].flat();
}
