// The benchmark's model server, run as its own process (child_process.fork) so its CPU is not the
// harness's: the loopback OpenAI-compatible fake server, answering after `latencyMs`, without keeping
// requests (record: false). One server plays both the subject and the judge; the judge's reply carries
// both steerbench's fields (decision, reason) and promptfoo's llm-rubric fields (pass, score), so the
// same bytes go back to both harnesses.
//
// IPC: sends {type: "ready", baseUrl}; answers {type: "stats"} with request counts and its CPU time.
import { startFakeOpenAIServer } from "../test/helpers/fake-openai-server.js";
import { subjectAnswer } from "../test/helpers/scripted-eval-server.js";
import { JUDGE_MODEL } from "./common.js";

export type ServerMessage =
  | { type: "ready"; baseUrl: string }
  | { type: "stats"; requests: number; subject: number; judge: number; cpuMicros: number };

export type ServerCommand = { type: "stats" } | { type: "stop" };

const JUDGE_REPLY = JSON.stringify({ decision: "no_convergence", reason: "scripted", pass: true, score: 1 });

async function main(): Promise<void> {
  const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? "20");
  const counts = { requests: 0, subject: 0, judge: 0 };
  const server = await startFakeOpenAIServer({
    latencyMs,
    record: false,
    respond: (req) => {
      counts.requests++;
      const body = req.body as
        | { model?: string; seed?: number; messages?: Array<{ role: string; content: string }> }
        | undefined;
      if (body?.model === JUDGE_MODEL) {
        counts.judge++;
        return { content: JUDGE_REPLY, usage: { prompt_tokens: 300, completion_tokens: 20 } };
      }
      counts.subject++;
      const user = body?.messages?.filter((m) => m.role === "user").at(-1)?.content ?? "";
      // The seed makes each epoch's answer distinct, so no judge request repeats (the judge cache would
      // otherwise answer repeated ones and an item would cost one call instead of two).
      return {
        content: `${subjectAnswer(user)} (seed ${body?.seed ?? "-"})`,
        usage: { prompt_tokens: 200, completion_tokens: 12 },
      };
    },
  });
  const send = (m: ServerMessage) => process.send?.(m);
  process.on("message", (m: ServerCommand) => {
    if (m.type === "stats") {
      const cpu = process.cpuUsage();
      send({ type: "stats", ...counts, cpuMicros: cpu.user + cpu.system });
    } else if (m.type === "stop") {
      void server.close().then(() => process.exit(0));
    }
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", baseUrl: server.baseUrl });
}

if (process.env.BENCH_SERVER === "1") void main();
