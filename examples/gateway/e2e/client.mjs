// End-to-end client of examples/gateway with the official openai npm
// package. The Go test TestNodeOpenAI (node_test.go) runs it; by hand:
//
//   cd examples/gateway && npm ci
//   GATEWAY_BASE_URL=http://127.0.0.1:4000/v1 GATEWAY_API_KEY=sk-... \
//   GATEWAY_LIMITED_KEY=sk-... GATEWAY_MODEL=alias-1 GATEWAY_DENIED_MODEL=model-group-1 \
//   node e2e/client.mjs
//
// Environment:
//   GATEWAY_BASE_URL      the gateway's base URL, ending in /v1
//   GATEWAY_API_KEY       a key that may use GATEWAY_MODEL
//   GATEWAY_MODEL         the name to call (an alias)
//   GATEWAY_LIMITED_KEY   a key that may not use GATEWAY_DENIED_MODEL (optional)
//   GATEWAY_DENIED_MODEL  a name GATEWAY_LIMITED_KEY is refused (optional)
//
// It prints one JSON object with what it saw; the Go test asserts on it.
// Each step records its own failure, so one broken step does not hide the
// others. The exit status is 0 unless the script itself breaks.

import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const env = (name, required = true) => {
  const v = process.env[name];
  if (required && !v) {
    throw new Error(`${name} is not set`);
  }
  return v;
};

const baseURL = env('GATEWAY_BASE_URL');
const apiKey = env('GATEWAY_API_KEY');
const model = env('GATEWAY_MODEL');
const limitedKey = env('GATEWAY_LIMITED_KEY', false);
const deniedModel = env('GATEWAY_DENIED_MODEL', false);

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const messages = [{ role: 'user', content: 'hello from node' }];

// describe turns a thrown error into what the test asserts on.
const describe = (err) => ({
  class: err?.constructor?.name ?? typeof err,
  isAPIError: err instanceof OpenAI.APIError,
  isNotFound: err instanceof OpenAI.NotFoundError,
  isPermissionDenied: err instanceof OpenAI.PermissionDeniedError,
  status: err?.status ?? null,
  code: err?.code ?? null,
  type: err?.type ?? null,
  param: err?.param ?? null,
  message: String(err?.message ?? err),
});

const step = async (fn) => {
  try {
    return await fn();
  } catch (err) {
    return { failed: describe(err) };
  }
};

const out = { sdkVersion: VERSION };

out.models = await step(async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    ids.push(m.id);
  }
  return { ids };
});

out.chat = await step(async () => {
  const { data, response } = await client.chat.completions
    .create({ model, messages })
    .withResponse();
  return {
    model: data.model,
    content: data.choices?.[0]?.message?.content ?? null,
    finishReason: data.choices?.[0]?.finish_reason ?? null,
    totalTokens: data.usage?.total_tokens ?? null,
    modelGroup: response.headers.get('x-modelroute-model-group'),
    deploymentId: response.headers.get('x-modelroute-deployment-id'),
    attempts: response.headers.get('x-modelroute-attempts'),
  };
});

out.stream = await step(async () => {
  const stream = await client.chat.completions.create({ model, messages, stream: true });
  const models = new Set();
  let content = '';
  let chunks = 0;
  let finishReason = null;
  for await (const chunk of stream) {
    chunks++;
    models.add(chunk.model);
    for (const c of chunk.choices ?? []) {
      content += c.delta?.content ?? '';
      if (c.finish_reason) {
        finishReason = c.finish_reason;
      }
    }
  }
  return { chunks, models: [...models], content, finishReason };
});

out.notFound = await step(async () => {
  await client.chat.completions.create({ model: 'no-such-model-e2e', messages });
  return { unexpectedSuccess: true };
});
// A thrown error is what this step expects: lift it out of "failed".
out.notFound = out.notFound.failed ?? out.notFound;

if (limitedKey && deniedModel) {
  const limited = new OpenAI({ baseURL, apiKey: limitedKey, maxRetries: 0, timeout: 20_000 });
  const r = await step(async () => {
    await limited.chat.completions.create({ model: deniedModel, messages });
    return { unexpectedSuccess: true };
  });
  out.denied = r.failed ?? r;
}

const badKey = new OpenAI({ baseURL, apiKey: 'sk-not-a-key', maxRetries: 0, timeout: 20_000 });
const r = await step(async () => {
  await badKey.models.list();
  return { unexpectedSuccess: true };
});
out.badKey = r.failed ?? r;

process.stdout.write(JSON.stringify(out) + '\n');
