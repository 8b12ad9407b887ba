// The images of a caption request: the raw body (Content-Type image/*) or the `image` parts of
// a multipart/form-data body, with the other form fields as options. Sizes are enforced while
// reading; nothing is written to disk, and no path or URL from the client is ever opened.
import busboy from "busboy";
import type { Request } from "express";
import { HttpError } from "./errors.js";

export interface ImageBody {
  readonly images: Buffer[];
  /** Form fields (multipart only). */
  readonly fields: Record<string, string | string[]>;
}

export interface ImageBodyLimits {
  readonly maxBodyBytes: number;
  readonly maxImages: number;
}

const tooLarge = (limit: number) =>
  new HttpError("PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes`);

function readRaw(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("error", (cause) => {
      if (failed) return;
      failed = true;
      reject(new HttpError("MALFORMED_REQUEST", "The request body could not be read", { cause }));
    });
  });
}

function readMultipart(req: Request, limits: ImageBodyLimits): Promise<ImageBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: {
          fileSize: limits.maxBodyBytes,
          files: limits.maxImages,
          fields: 16,
          fieldSize: 1024,
          parts: limits.maxImages + 16,
        },
      });
    } catch (cause) {
      reject(
        new HttpError("MALFORMED_REQUEST", `Bad multipart request (${(cause as Error).message})`, {
          cause,
        }),
      );
      return;
    }
    const images: Buffer[] = [];
    const fields: Record<string, string | string[]> = {};
    let total = 0;
    let failure: HttpError | undefined;
    const fail = (error: HttpError) => {
      if (failure !== undefined) return;
      failure = error;
      req.unpipe(parser);
      req.resume();
      reject(error);
    };
    parser.on("file", (name, stream) => {
      // A form that ends inside a file part errors on the part's stream as well as the parser.
      stream.on("error", (cause) =>
        fail(
          new HttpError("MALFORMED_REQUEST", `Bad multipart body (${cause.message})`, { cause }),
        ),
      );
      if (name !== "image") {
        stream.resume();
        fail(
          new HttpError(
            "MALFORMED_REQUEST",
            `Unexpected file part ${JSON.stringify(name.slice(0, 40))}; send images as "image" parts`,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (total > limits.maxBodyBytes) fail(tooLarge(limits.maxBodyBytes));
        else chunks.push(chunk);
      });
      stream.on("limit", () => fail(tooLarge(limits.maxBodyBytes)));
      stream.on("close", () => {
        if (failure === undefined) images.push(Buffer.concat(chunks));
      });
    });
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) {
        fail(new HttpError("INVALID_OPTION", `The form field ${JSON.stringify(name)} is too long`));
        return;
      }
      const previous = fields[name];
      fields[name] =
        previous === undefined
          ? value
          : Array.isArray(previous)
            ? [...previous, value]
            : [previous, value];
    });
    parser.on("filesLimit", () =>
      fail(new HttpError("PAYLOAD_TOO_LARGE", `At most ${limits.maxImages} images per request`)),
    );
    parser.on("partsLimit", () =>
      fail(new HttpError("PAYLOAD_TOO_LARGE", "Too many parts in the form")),
    );
    parser.on("fieldsLimit", () =>
      fail(new HttpError("PAYLOAD_TOO_LARGE", "Too many fields in the form")),
    );
    parser.on("error", (cause) =>
      fail(
        new HttpError("MALFORMED_REQUEST", `Bad multipart body (${(cause as Error).message})`, {
          cause,
        }),
      ),
    );
    parser.on("close", () => {
      if (failure !== undefined) return;
      if (images.length === 0) {
        reject(new HttpError("MALFORMED_REQUEST", 'The form has no "image" part'));
        return;
      }
      resolve({ images, fields });
    });
    req.on("error", (cause) =>
      fail(new HttpError("MALFORMED_REQUEST", "The request body could not be read", { cause })),
    );
    req.pipe(parser);
  });
}

export async function readImageBody(req: Request, limits: ImageBodyLimits): Promise<ImageBody> {
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("image/")) {
    return { images: [await readRaw(req, limits.maxBodyBytes)], fields: {} };
  }
  if (type.startsWith("multipart/form-data")) return readMultipart(req, limits);
  req.resume();
  throw new HttpError(
    "UNSUPPORTED_MEDIA_TYPE",
    `Send the image as the body with Content-Type image/* or as multipart/form-data "image" parts; received ${type === "" ? "no Content-Type" : JSON.stringify(type.slice(0, 60))}`,
  );
}
