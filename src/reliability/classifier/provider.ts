// Registers the offline judge as the engine's local judge provider `classifier` (judge entry
// `provider: classifier`, `model: path/to/model.json`). Importing this module is enough; the engine
// imports it lazily, so runs that never use the classifier never load it.
import type { JudgeConfig } from "../../config/run-config.js";
import { modelLabel } from "../../config/run-config.js";
import {
  type ConnectContext,
  ConnectError,
  type ConnectedJudge,
  registerLocalProvider,
} from "../../engine/connect.js";
import { Limiter } from "../../engine/limiter.js";
import { createClassifierJudge } from "./judge.js";

/** A connected classifier judge. It is CPU-bound and synchronous, so one call at a time is enough. */
export async function connectClassifierJudge(j: JudgeConfig, _ctx?: ConnectContext): Promise<ConnectedJudge> {
  let judge: ReturnType<typeof createClassifierJudge>;
  try {
    judge = createClassifierJudge(j.model);
  } catch (err) {
    throw new ConnectError(`${modelLabel(j)}: ${(err as Error).message}`);
  }
  return { judge: judge.judge, close: judge.close, limiter: new Limiter(1) };
}

registerLocalProvider(
  "classifier",
  async (m) => {
    throw new ConnectError(
      `${modelLabel(m)}: "classifier" is a judge provider; it cannot generate responses`,
    );
  },
  connectClassifierJudge,
);
