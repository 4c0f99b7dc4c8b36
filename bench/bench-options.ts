// `npx node bench/run.ts [flags]`: which sections run, and at what size.
import { IP_FAMILY_OPTIONS, type IpFamilyOption } from "../src/localcloud/address-plan.ts";

export const sectionNames = [
  "core",
  "propagation",
  "cold-start",
  "endpoints",
  "nodes",
  "steady",
  "burst",
] as const;
export type SectionName = (typeof sectionNames)[number];

/** Sections that run on the benchmark's own two clusters (the others bring their own, or none). */
export const cloudSections: readonly SectionName[] = [
  "propagation",
  "cold-start",
  "endpoints",
  "nodes",
  "steady",
];

export interface BenchOptions {
  sections: SectionName[];
  /** Production Services per cold start, ascending. */
  coldStartSizes: number[];
  /** Peak endpoints per Service in the cold starts. */
  coldStartEndpoints: number;
  propagation: { services: number; changes: number; churnPerSecond: number };
  /** The "100,000 endpoints" section: Services × endpoints each. */
  endpoints: { services: number; perService: number };
  nodes: { count: number; services: number; resyncSeconds: number | undefined };
  steady: { endpoints: number; resyncSeconds: number };
  burstTrials: number;
  /** Families of the burst section's clusters and Services (default "ipv4"). */
  ipFamily: IpFamilyOption;
  /** Rewrite the figures between the markers in BENCHMARKS.md. */
  updateDoc: boolean;
}

export const usage = `usage: npx node bench/run.ts [flags]

  --only a,b            sections to run (default all): ${sectionNames.join(", ")}
  --sizes 1000,5000     cold-start sizes in Services (default 1000,5000,10000)
  --scale 0.1           multiplies every other size (Services, changes, nodes, endpoints;
                        and the cold-start sizes unless --sizes is given), for short runs
  --changes 1000        propagation: changes per phase (idle, churn), per forwarder
  --churn 50            propagation: changes per second under churn
  --resync 60           nodes: kubeburst's resyncPeriod in seconds (default: from the cold start)
  --burst-trials 20     burst: trials of the end-to-end burst latency
  --ip-family ipv4      burst: ${IP_FAMILY_OPTIONS.join(", ")} (dual: requests to both ClusterIPs)
  --update-doc          write the figures into BENCHMARKS.md (between its markers)
  --help                this text
`;

const defaults = {
  coldStartSizes: [1000, 5000, 10_000],
  coldStartEndpoints: 10,
  propagation: { services: 1000, changes: 1000, churnPerSecond: 50 },
  endpoints: { services: 1000, perService: 100 },
  nodes: { count: 1000 },
  steady: { endpoints: 3000, resyncSeconds: 15 },
  burstTrials: 20,
};

export type ParsedOptions =
  | { ok: true; options: BenchOptions }
  | { ok: false; message: string }
  | { ok: "help" };

function positiveInt(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 1) {
    throw new Error(`${flag} needs a whole number of at least 1, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Parses the flags of bench/run.ts; every problem names its flag. */
export function parseBenchOptions(argv: readonly string[]): ParsedOptions {
  let sections: SectionName[] = [...sectionNames];
  let sizes: number[] | undefined;
  let scale = 1;
  let changes: number | undefined;
  let churn = defaults.propagation.churnPerSecond;
  let resync: number | undefined;
  let burstTrials = defaults.burstTrials;
  let ipFamily: IpFamilyOption = "ipv4";
  let updateDoc = false;
  try {
    for (let i = 0; i < argv.length; i++) {
      const flag = argv[i]!;
      const value = () => {
        const v = argv[++i];
        if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
        return v;
      };
      switch (flag) {
        case "--help":
        case "-h":
          return { ok: "help" };
        case "--only": {
          const names = value().split(",").filter(Boolean);
          const unknown = names.filter((n) => !(sectionNames as readonly string[]).includes(n));
          if (unknown.length > 0 || names.length === 0) {
            throw new Error(
              `--only: unknown section ${unknown.join(", ") || "(none)"}; choose from ${sectionNames.join(", ")}`,
            );
          }
          sections = sectionNames.filter((n) => names.includes(n));
          break;
        }
        case "--sizes":
          sizes = value()
            .split(",")
            .map((s) => positiveInt("--sizes", s))
            .sort((a, b) => a - b);
          break;
        case "--scale": {
          const v = value();
          scale = Number(v);
          if (!(scale > 0 && scale <= 1)) {
            throw new Error(`--scale needs a number in (0, 1], got ${JSON.stringify(v)}`);
          }
          break;
        }
        case "--changes":
          changes = positiveInt(flag, value());
          break;
        case "--churn":
          churn = positiveInt(flag, value());
          break;
        case "--resync":
          resync = positiveInt(flag, value());
          break;
        case "--burst-trials":
          burstTrials = positiveInt(flag, value());
          break;
        case "--ip-family": {
          const v = value();
          if (!(IP_FAMILY_OPTIONS as readonly string[]).includes(v)) {
            throw new Error(
              `--ip-family: ${JSON.stringify(v)} is none of ${IP_FAMILY_OPTIONS.join(", ")}`,
            );
          }
          ipFamily = v as IpFamilyOption;
          break;
        }
        case "--update-doc":
          updateDoc = true;
          break;
        default:
          throw new Error(`unknown flag ${JSON.stringify(flag)}; see --help`);
      }
    }
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  const scaled = (n: number) => Math.max(1, Math.round(n * scale));
  const coldStartSizes = sizes ?? defaults.coldStartSizes.map(scaled);
  return {
    ok: true,
    options: {
      sections,
      coldStartSizes,
      coldStartEndpoints: defaults.coldStartEndpoints,
      propagation: {
        services: scaled(defaults.propagation.services),
        changes: changes ?? scaled(defaults.propagation.changes),
        churnPerSecond: churn,
      },
      endpoints: {
        services: scaled(defaults.endpoints.services),
        perService: defaults.endpoints.perService,
      },
      nodes: {
        count: scaled(defaults.nodes.count),
        services: coldStartSizes.at(-1)!,
        resyncSeconds: resync,
      },
      steady: {
        endpoints: scaled(defaults.steady.endpoints),
        resyncSeconds: defaults.steady.resyncSeconds,
      },
      burstTrials,
      ipFamily,
      updateDoc,
    },
  };
}
