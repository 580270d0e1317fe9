// The runtime configuration, /config.json, served next to the page: under make dev by the local
// stack, on AWS from the deploy step. The built files are the same everywhere.
export interface Config {
  /** apiBase prefixes the dashboard API's paths: "" when the API is on the page's own origin. */
  apiBase: string;
  region: string;
  userPoolId: string;
  clientId: string;
  /** cognitoEndpoint is where Cognito's JSON API is: default https://cognito-idp.<region>.amazonaws.com/;
   * make dev proxies it on the page's origin. */
  cognitoEndpoint?: string;
  /** publicOrigin is the public API's origin, which buy button snippets load from. */
  publicOrigin: string;
  /** local is set by make dev's stack, where any confirmation code is accepted. */
  local?: boolean;
}

export async function loadConfig(): Promise<Config> {
  const res = await fetch("/config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`/config.json answered ${res.status}`);
  const c = (await res.json()) as Config;
  c.cognitoEndpoint ||= `https://cognito-idp.${c.region}.amazonaws.com/`;
  return c;
}
