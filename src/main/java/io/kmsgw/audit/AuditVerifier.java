package io.kmsgw.audit;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Checks an audit directory offline, with the JDK alone: every line's seq and its link to the line before, every
 * file header and its anchor, every digest's signature, key and range. Reports the first bad record precisely (file,
 * line, seq, what is wrong) and, after a problem, goes on from the first intact link so that later, separate damage
 * is reported too.
 *
 * <p>Trust: with {@code trustedFingerprints} every digest must be signed by one of those keys (SHA-256 of the
 * SubjectPublicKeyInfo, as the gateway logs it at start-up); without, the first digest's key is taken and every
 * later digest must use the same one.
 */
public final class AuditVerifier {
  /** Where a record is. */
  public record Location(String file, int line, Long seq) {
    @Override
    public String toString() {
      return file + " line " + line + (seq == null ? "" : " (seq " + seq + ")");
    }
  }

  public record Problem(Location where, String message) {
    @Override
    public String toString() {
      return where + ": " + message;
    }
  }

  public record FileResult(String name, int lines, Long firstSeq, Long lastSeq, boolean valid) {}

  /**
   * @param notCovered the lines after the last valid digest, or null when every line is covered
   */
  public record Report(List<FileResult> files, List<Problem> problems, List<String> notes, long records,
      long digests, Set<String> fingerprints, String notCovered) {
    /** 0: every line valid and covered; 1: a problem (tampering or damage); 2: valid, but lines not yet covered. */
    public int exitCode() {
      return !problems.isEmpty() ? 1 : notCovered != null ? 2 : 0;
    }

    public Problem firstProblem() {
      return problems.isEmpty() ? null : problems.get(0);
    }
  }

  private final Set<String> trusted;
  private final List<Problem> problems = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private final List<FileResult> files = new ArrayList<>();
  private final Set<String> fingerprints = new LinkedHashSet<>();
  private String pinned;

  // the last line accepted
  private String prevText;
  private String prevHash;
  private Long prevSeq;
  private Location prevWhere;
  private boolean resync;
  // digests
  private Long lastDigestSeq;
  private String lastDigestHash;
  private long coveredThrough = -1;
  private boolean cleanSinceDigest = true;
  private Location firstUncovered;
  private long records;
  private long digestCount;
  private boolean fileHadProblem;

  private AuditVerifier(Set<String> trusted) {
    this.trusted = trusted;
  }

  public static Report verify(Path dir, Set<String> trustedFingerprints) throws IOException {
    AuditVerifier v = new AuditVerifier(Set.copyOf(trustedFingerprints));
    List<AuditFiles.Entry> entries = AuditFiles.list(dir);
    if (entries.isEmpty()) {
      v.problems.add(new Problem(new Location(dir.toString(), 0, null), "no audit files (audit-*.jsonl) here"));
    }
    for (AuditFiles.Entry e : entries) {
      v.file(e);
    }
    return v.report();
  }

  private Report report() {
    String notCovered = null;
    if (prevSeq != null && coveredThrough < prevSeq) {
      long from = coveredThrough >= 0 ? coveredThrough + 1
          : firstUncovered != null && firstUncovered.seq() != null ? firstUncovered.seq() : 1;
      notCovered = "seq " + from + ".." + prevSeq + " (" + (prevSeq - from + 1) + " records, from "
          + (firstUncovered == null ? "?" : firstUncovered.file() + " line " + firstUncovered.line())
          + ") not yet covered by a digest: the gateway is running, crashed, could not sign (HSM not connected), "
          + "or the last digest was removed";
    }
    return new Report(List.copyOf(files), List.copyOf(problems), List.copyOf(notes), records, digestCount,
        Set.copyOf(fingerprints), notCovered);
  }

  private void file(AuditFiles.Entry e) throws IOException {
    byte[] bytes = Files.readAllBytes(e.path());
    String name = e.name();
    fileHadProblem = false;
    // the file being written ends in pre-allocated zero bytes; a crash may have left bytes of an unacknowledged
    // write among them, which the gateway removes at its next start
    AuditFiles.Extent extent = AuditFiles.extent(bytes);
    int end = extent.lines();
    int written = extent.written();
    String text = new String(bytes, 0, Math.max(0, end - 1), StandardCharsets.UTF_8);
    String[] lines = end == 0 ? new String[0] : text.split("\n", -1);
    Long first = null;
    for (int i = 0; i < lines.length; i++) {
      Long seq = line(name, lines, i);
      if (first == null) {
        first = seq;
      }
    }
    if (end < written) {
      problem(new Location(name, lines.length + 1, null), "file truncated inside line " + (lines.length + 1)
          + " (its last " + (written - end) + " bytes have no end of line): truncated, or a write cut short "
          + "by a crash that the gateway repairs at its next start");
    } else if (written == 0) {
      problem(new Location(name, 1, null), "empty file: its header was removed or never written");
    }
    files.add(new FileResult(name, lines.length, first, prevSeq, !fileHadProblem));
  }

  /** Checks one line; returns its seq (null when unreadable). */
  private Long line(String file, String[] lines, int index) {
    String text = lines[index];
    int lineNo = index + 1;
    String hash = AuditRecords.hash(text);
    AuditRecords.Parsed p = AuditRecords.parse(text);
    long quick = AuditRecords.quickSeq(text);
    Location here = new Location(file, lineNo, p.seq() != null ? p.seq() : quick >= 0 ? quick : null);
    records++;
    if (p.kind() == null || p.seq() == null || p.prev() == null) {
      problem(here, (here.seq() == null ? "record" : kindOf(text) + " seq " + here.seq())
          + " edited: not a readable audit record any more");
      accept(text, hash, here.seq(), here);
      return here.seq();
    }
    long seq = p.seq();
    if (index == 0 && !"file".equals(p.kind())) {
      problem(here, "the file does not begin with its header (the start of the file was removed or edited)");
    }
    link(p, here, lines, index);
    if ("file".equals(p.kind())) {
      header(p, here, index);
    }
    if ("digest".equals(p.kind())) {
      digest(p, text, hash, here);
    }
    if (coveredThrough == seq) {
      firstUncovered = null;
    } else if (firstUncovered == null) {
      firstUncovered = here;
    }
    accept(text, hash, seq, here);
    return seq;
  }

  private static String kindOf(String text) {
    return text.contains("},\"digest\":{") ? "digest" : text.contains("},\"file\":{") ? "file header" : "event";
  }

  private void header(AuditRecords.Parsed p, Location here, int index) {
    JsonObject h = p.json().getJsonObject("file");
    if (index != 0) {
      problem(here, "a file header in the middle of a file (files were joined)");
      return;
    }
    if (!here.file().equals(h.getString("name"))) {
      problem(here, "the header names the file " + h.getString("name") + ": the file was renamed or replaced");
    }
    String anchor = h.getString("anchor");
    if (prevSeq == null) {
      // the first file present: either the start of the chain or anchored by the digest before it
      if (anchor == null) {
        if (p.seq() != 1 || !Hashes.GENESIS.equals(p.prev())) {
          problem(here, "the chain starts at seq " + p.seq() + " without a signed anchor: the records before it "
              + "are missing (deleted)");
        }
        return;
      }
      AuditRecords.Parsed a = AuditRecords.parse(anchor);
      String anchorHash = AuditRecords.hash(anchor);
      if (!"digest".equals(a.kind()) || a.seq() == null || !anchorHash.equals(p.prev())) {
        problem(here, "the header's anchor is not the digest its prev points to (edited)");
        return;
      }
      Location at = new Location(h.getString("previousFile", "?"), 0, a.seq());
      if (!signatureValid(a, anchor, at, "the anchor digest")) {
        return;
      }
      notes.add("the chain starts at seq " + p.seq() + " in " + here.file() + ": earlier files ("
          + h.getString("previousFile") + " and before) were removed, by retention; anchored by the digest of seq "
          + a.seq() + " signed at " + a.json().getJsonObject("digest").getString("time"));
      prevText = anchor;
      prevHash = anchorHash;
      prevSeq = a.seq();
      prevWhere = at;
      lastDigestSeq = a.seq();
      lastDigestHash = anchorHash;
      coveredThrough = a.seq();
    } else if (anchor != null && !anchor.equals(prevText) && !resync) {
      problem(here, "the header's anchor is not the last line of the previous file (" + prevWhere + ")");
    }
  }

  private void link(AuditRecords.Parsed p, Location here, String[] lines, int index) {
    if (prevSeq == null) {
      return;
    }
    long seq = p.seq();
    boolean next = seq == prevSeq + 1;
    boolean linked = Objects.equals(p.prev(), prevHash);
    if (resync) {
      if (next && linked) {
        resync = false;
        notes.add("checking resumed at " + here + ", the first intact link after the problem");
      }
      return;
    }
    if (next && linked) {
      return;
    }
    if (next) {
      problem(prevWhere, kindAt(prevText) + " seq " + prevSeq + " edited: its hash does not match the prev "
          + "recorded by seq " + seq + " (or that prev was edited)");
    } else if (linked) {
      problem(here, "seq edited: the record follows seq " + prevSeq + " (its prev matches) but claims seq " + seq);
    } else if (seq > prevSeq + 1) {
      int later = find(lines, index + 1, prevSeq + 1);
      if (later >= 0) {
        problem(here, "seq " + seq + " comes before seq " + (prevSeq + 1) + " (line " + (later + 1)
            + "): records out of order (swapped or moved)");
      } else {
        long missing = seq - prevSeq - 1;
        problem(here, (missing == 1 ? "seq " + (prevSeq + 1) : "seq " + (prevSeq + 1) + ".." + (seq - 1))
            + " missing after seq " + prevSeq + " (" + prevWhere.file() + " line " + prevWhere.line() + "): "
            + (missing == 1 ? "a record was" : missing + " records were") + " deleted"
            + (!"file".equals(p.kind()) || index != 0 ? ""
                : Objects.equals(p.json().getJsonObject("file").getString("previousFile"), prevWhere.file())
                ? ", or the end of the previous file was cut off"
                : "; the file before this one, " + p.json().getJsonObject("file").getString("previousFile")
                    + ", is missing"));
      }
    } else {
      problem(here, "seq " + seq + " after seq " + prevSeq + ": records out of order (swapped, moved or "
          + "duplicated)");
    }
  }

  private static String kindAt(String text) {
    return text == null ? "record" : kindOf(text);
  }

  private static int find(String[] lines, int from, long seq) {
    for (int i = from; i < lines.length; i++) {
      if (AuditRecords.quickSeq(lines[i]) == seq) {
        return i;
      }
    }
    return -1;
  }

  private void digest(AuditRecords.Parsed p, String text, String hash, Location here) {
    digestCount++;
    JsonObject d = p.json().getJsonObject("digest");
    boolean ok = signatureValid(p, text, here, "digest");
    if (ok) {
      long seq = p.seq();
      Long firstSeq = d.getLong("firstSeq");
      Long lastSeq = d.getLong("lastSeq");
      if (!Objects.equals(lastSeq, seq - 1) || !Objects.equals(d.getString("lastHash"), p.prev())) {
        problem(here, "digest covers up to seq " + lastSeq + " but stands at seq " + seq);
        ok = false;
      } else if (lastDigestSeq != null && (!Objects.equals(firstSeq, lastDigestSeq + 1)
          || !Objects.equals(d.getString("previousDigestHash"), lastDigestHash))) {
        problem(here, "digest covers seq " + firstSeq + ".." + lastSeq + ", but the previous digest is seq "
            + lastDigestSeq + ": a digest between them is missing or was replaced");
        ok = false;
      } else if (lastDigestSeq == null && coveredThrough < 0 && !Objects.equals(firstSeq, 1L)) {
        problem(here, "the first digest covers seq " + firstSeq + ".." + lastSeq + ": the records and digests "
            + "before it are missing");
        ok = false;
      }
    }
    if (ok && cleanSinceDigest && !resync) {
      coveredThrough = p.seq();
    }
    cleanSinceDigest = true;
    lastDigestSeq = p.seq();
    lastDigestHash = hash;
  }

  /** Verifies a digest line's signature, key fingerprint and key trust; reports and returns false if not. */
  private boolean signatureValid(AuditRecords.Parsed p, String text, Location here, String what) {
    JsonObject d = p.json().getJsonObject("digest");
    int mark = text.lastIndexOf(AuditRecords.SIGNATURE_MARK);
    String signature = p.json().getValue("signature") instanceof String s ? s : null;
    if (mark < 0 || signature == null || !text.endsWith("\"}")
        || !text.substring(mark + AuditRecords.SIGNATURE_MARK.length(), text.length() - 2).equals(signature)) {
      problem(here, what + " is malformed: the signature is not its last member");
      return false;
    }
    if (!AuditRecords.SIGNATURE_ALGORITHM.equals(d.getString("signatureAlgorithm"))) {
      problem(here, what + " names the signature algorithm " + d.getString("signatureAlgorithm"));
      return false;
    }
    byte[] spki;
    PublicKey key;
    try {
      spki = Base64.getDecoder().decode(d.getString("publicKey", ""));
      key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      problem(here, what + " carries no usable public key (" + e.getMessage() + ")");
      return false;
    }
    String fingerprint = Hashes.sha256Hex(spki);
    if (!fingerprint.equals(d.getString("publicKeyFingerprint"))) {
      problem(here, what + ": the fingerprint does not match its public key");
      return false;
    }
    boolean valid;
    try {
      Signature verifier = Signature.getInstance(AuditRecords.SIGNATURE_ALGORITHM);
      verifier.initVerify(key);
      verifier.update(text.substring(0, mark).getBytes(StandardCharsets.UTF_8));
      valid = verifier.verify(Base64.getDecoder().decode(signature));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      valid = false;
    }
    if (!valid) {
      problem(here, what + " at line " + here.line() + ": signature does not verify (the digest was forged or "
          + "edited)");
      return false;
    }
    fingerprints.add(fingerprint);
    if (!trusted.isEmpty()) {
      if (!trusted.contains(fingerprint)) {
        problem(here, what + " is signed by the key " + fingerprint + ", which is not among the trusted keys");
        return false;
      }
    } else if (pinned == null) {
      pinned = fingerprint;
    } else if (!pinned.equals(fingerprint)) {
      problem(here, what + " is signed by the key " + fingerprint + ", not by the key of the earlier digests ("
          + pinned + "); if the signing key was changed, name both with --trust");
      return false;
    }
    return true;
  }

  private void accept(String text, String hash, Long seq, Location here) {
    prevText = text;
    prevHash = hash;
    prevSeq = seq != null ? seq : prevSeq;
    prevWhere = here;
  }

  private void problem(Location where, String message) {
    problems.add(new Problem(where, message));
    fileHadProblem = true;
    cleanSinceDigest = false;
    resync = true;
  }
}
