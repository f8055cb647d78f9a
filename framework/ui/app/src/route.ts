/// <reference lib="dom" />
import { useEffect, useState } from "preact/hooks";

/** The view the address names: #cluster (default), #events, #events/<stream>. */
export type Route =
  { readonly view: "cluster" } | { readonly view: "events"; readonly stream: string | undefined };

export function routeOf(hash: string): Route {
  const match = /^#events(?:\/(.+))?$/.exec(hash);
  if (match === null) return { view: "cluster" };
  return {
    view: "events",
    stream: match[1] === undefined ? undefined : decodeURIComponent(match[1]),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(routeOf(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
