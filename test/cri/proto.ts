// The CRI runtime v1 API for the test's client, taken from the containerd
// that Debian ships: its binary carries the gzipped FileDescriptorProto of
// k8s.io/cri-api's api.proto (Go's generated code registers it), which is
// exactly the schema that containerd serves. Found by its gzip header and
// its package name; nothing is copied by hand or fetched from elsewhere.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const GZIP = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);

/** The FileDescriptorProto of api.proto in package runtime.v1, from the binary at path. */
export function criDescriptor(path: string): Buffer {
  const bin = readFileSync(path);
  for (let at = bin.indexOf(GZIP); at >= 0; at = bin.indexOf(GZIP, at + 1)) {
    let file: Buffer;
    try {
      // The gzip stream ends where it ends: take a generous slice.
      file = gunzipSync(bin.subarray(at, at + (1 << 20)), { finishFlush: 2 });
    } catch {
      continue;
    }
    if (file.subarray(0, 64).includes("api.proto") && file.subarray(0, 64).includes("runtime.v1\x1a"))
      return file;
  }
  throw new Error(`no CRI runtime.v1 descriptor in ${path}`);
}

/** A FileDescriptorSet holding one file: field 1, length-delimited. */
function descriptorSet(file: Buffer): Buffer {
  const len: number[] = [];
  for (let n = file.length; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), file]);
}

export interface CriClients {
  runtime: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  image: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
}

export function criClients(containerdBinary: string, socket: string): CriClients {
  const def = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet(criDescriptor(containerdBinary)), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    runtime: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client> };
  };
  const { RuntimeService, ImageService } = pkg.runtime.v1;
  if (!RuntimeService || !ImageService)
    throw new Error("the CRI descriptor has no RuntimeService or ImageService");
  const addr = `unix://${socket}`;
  return {
    runtime: new RuntimeService(addr, grpc.credentials.createInsecure()) as CriClients["runtime"],
    image: new ImageService(addr, grpc.credentials.createInsecure()) as CriClients["image"],
  };
}

/** One unary call, as a promise. */
export function call<T>(
  client: CriClients["runtime"],
  method: string,
  request: object,
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (typeof fn !== "function") return reject(new Error(`no CRI method ${method}`));
    fn.call(client, request, { deadline: Date.now() + timeoutMs }, (err: Error | null, res: T) =>
      err ? reject(new Error(`${method}: ${err.message}`)) : resolve(res),
    );
  });
}
