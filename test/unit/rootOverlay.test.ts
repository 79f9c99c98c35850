import { describe, expect, test } from "bun:test";
import { defaultSpec } from "../../src/oci/default.ts";
import { planRootOverlay, ROOT_OVERLAY } from "../../src/plan/rootOverlay.ts";

const withOverlay = (value: string) => ({ ...defaultSpec(), annotations: { [ROOT_OVERLAY]: value } });

describe("bunc.rootfs.overlay", () => {
  test("absent: the root is a bind of root.path", () => {
    expect(planRootOverlay(defaultSpec())).toBeNull();
  });

  test("the layers top first, the upper and work directories, userxattr when asked", () => {
    const value = JSON.stringify({
      lower: ["/l/top", "/l/bottom"],
      upper: "/u",
      work: "/w",
      userxattr: true,
    });
    expect(planRootOverlay(withOverlay(value))).toBe(
      "lowerdir=/l/top:/l/bottom,upperdir=/u,workdir=/w,userxattr",
    );
  });

  test.each([
    ["not json", `annotations["${ROOT_OVERLAY}"]: is not JSON`],
    [JSON.stringify({ lower: [], upper: "/u", work: "/w" }), `annotations["${ROOT_OVERLAY}"].lower:`],
    [
      JSON.stringify({ lower: ["/a:b"], upper: "/u", work: "/w" }),
      `annotations["${ROOT_OVERLAY}"].lower.0: must be an absolute path`,
    ],
    [
      JSON.stringify({ lower: ["/a"], upper: "u", work: "/w" }),
      `annotations["${ROOT_OVERLAY}"].upper: must be an absolute path`,
    ],
    [JSON.stringify({ lower: ["/a"], upper: "/u", work: "/w", extra: 1 }), `annotations["${ROOT_OVERLAY}"]`],
    [
      JSON.stringify({ lower: Array(400).fill(`/${"x".repeat(20)}`), upper: "/u", work: "/w" }),
      "names more layers than one overlayfs mount",
    ],
  ])("refused by its JSON path: %s", (value, message) => {
    expect(() => planRootOverlay(withOverlay(value))).toThrow(message);
  });
});
