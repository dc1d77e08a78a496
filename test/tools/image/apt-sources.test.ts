import { describe, expect, it } from "vitest";
import { debianMirror } from "../../../tools/image/apt-sources.ts";

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe("the Debian mirror apt uses", () => {
  it("reads deb822 .sources stanzas, skipping comments and the security archive", () => {
    expect(debianMirror([DEB822], "bookworm")).toBe("http://deb.debian.org/debian");
    expect(debianMirror([DEB822], "trixie")).toBeUndefined();
  });

  it("reads one-line sources.list entries with options and ignores deb-src and comments", () => {
    const list = [
      "# deb http://commented.example/debian bookworm main",
      "deb-src http://src.example/debian bookworm main",
      "deb [arch=amd64 signed-by=/k.gpg] https://mirror.example/debian/ bookworm main",
    ].join("\n");
    expect(debianMirror([list], "bookworm")).toBe("https://mirror.example/debian");
  });

  it("skips disabled stanzas and other repositories' suites, taking the first file that has one", () => {
    const disabled = "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n";
    const other = "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n";
    expect(debianMirror([disabled, other, DEB822], "bookworm")).toBe("http://deb.debian.org/debian");
  });
});
