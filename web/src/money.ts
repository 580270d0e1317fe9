// Prices as the merchant types them (major units: 19.99 euros) and as the API takes them (minor
// units: 1999), exactly, with each currency's own number of decimals (0 for JPY, 3 for KWD).

/** minorDigits is the number of decimals of currency (ISO 4217's minor unit, from Intl). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** toMinor converts a typed price to minor units without floating point, or returns an error. */
export function toMinor(typed: string, currency: string): number | { error: string } {
  const digits = minorDigits(currency);
  const s = typed.trim().replace(/[\s,]/g, (c) => (c === "," && !typed.includes(".") ? "." : ""));
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return { error: "Enter a price like 19.99, in " + currency.toUpperCase() + "." };
  const frac = m[2] ?? "";
  if (frac.length > digits) {
    return { error: digits === 0 ? `${currency.toUpperCase()} has no decimals: enter a whole number.` : `${currency.toUpperCase()} has ${digits} decimals at most.` };
  }
  const minor = Number(m[1] + frac.padEnd(digits, "0"));
  if (!Number.isSafeInteger(minor)) return { error: "That price is too large." };
  return minor;
}

/** formatMoney shows minor units in the currency's own format: 1999 eur → €19.99. */
export function formatMoney(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: digits }).format(minor / 10 ** digits);
  } catch {
    return `${minor / 10 ** digits} ${currency.toUpperCase()}`;
  }
}

/** currencies lists the ISO codes the browser knows, lower case, for the currency select. */
export function currencies(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const all = intl.supportedValuesOf?.("currency") ?? ["EUR", "GBP", "JPY", "USD"];
  return all.map((c) => c.toLowerCase());
}
