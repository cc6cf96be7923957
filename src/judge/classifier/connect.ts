// The offline judge as a connected judge (judge entry `provider: classifier`, `model: path/to/model.json`).
// The runner imports this module lazily, so runs that never use the classifier never load it.
import type { JudgeConfig } from "../../config/run-config.js";
import { modelLabel } from "../../config/run-config.js";
import { ConnectError } from "../../providers/provider.js";
import { Limiter } from "../../util/limiter.js";
import type { ConnectedJudge } from "../connected.js";
import { createClassifierJudge } from "./judge.js";

/** A connected classifier judge. It is CPU-bound and synchronous, so one call at a time is enough. */
export async function connectClassifierJudge(j: JudgeConfig): Promise<ConnectedJudge> {
  let judge: ReturnType<typeof createClassifierJudge>;
  try {
    judge = createClassifierJudge(j.model);
  } catch (err) {
    throw new ConnectError(`${modelLabel(j)}: ${(err as Error).message}`);
  }
  return { judge: judge.judge, close: judge.close, limiter: new Limiter(1) };
}
