// JSON mutation for the fuzz tests: pick locations in a parsed document and replace or delete
// them. Each fuzz file brings its own replacement values (what confuses its parsers).

/** a replacement that deletes the location instead of overwriting it */
export const DELETE = Symbol('delete');

/** every JSON location, as [container, key] */
export function locations(v: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), locations(x, out)));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.push([v as Record<string, unknown>, k]), locations(x, out));
  return out;
}

/** a mutated copy: each pick [n, value] sets location n (mod the count, recounted after every
 *  pick) to a copy of value, or deletes it for DELETE */
export function mutate(json: unknown, picks: Array<[number, unknown]>): unknown {
  const copy = structuredClone(json);
  for (const [n, value] of picks) {
    const locs = locations(copy);
    if (!locs.length) break;
    const [container, key] = locs[n % locs.length];
    if (value === DELETE) {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else (container as Record<string | number, unknown>)[key] = structuredClone(value);
  }
  return copy;
}
