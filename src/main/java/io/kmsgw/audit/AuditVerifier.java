package io.kmsgw.audit;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
  /** Problems (and notes) listed in a report; later ones are only counted, so memory stays bounded. */
  public static final int MAX_LISTED = 1000;
  /**
   * The longest line read: far above any line the gateway writes (request bodies are at most 256 KiB, and JSON
   * escaping at most sextuples a character), so that a damaged file without line ends cannot exhaust the heap.
   */
  static final int MAX_LINE = 16 << 20;

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
  public record Report(List<FileResult> files, List<Problem> problems, long unlistedProblems, List<String> notes,
      long records, long digests, Set<String> fingerprints, String notCovered) {
    /** 0: every line valid and covered; 1: a problem (tampering or damage); 2: valid, but lines not yet covered. */
    public int exitCode() {
      return !problems.isEmpty() ? 1 : notCovered != null ? 2 : 0;
    }

    /** Every problem found: the listed ones and those only counted. */
    public long problemCount() {
      return problems.size() + unlistedProblems;
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
  private long unlisted;
  private Gap pendingGap;

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
    return new Report(List.copyOf(files), List.copyOf(problems), unlisted, List.copyOf(notes), records, digestCount,
        Set.copyOf(fingerprints), notCovered);
  }

  private void file(AuditFiles.Entry e) throws IOException {
    String name = e.name();
    fileHadProblem = false;
    pendingGap = null;
    // read line by line: memory stays bounded whatever the file's size. The file being written ends in
    // pre-allocated zero bytes; a crash may have left bytes of an unacknowledged write among them, which the gateway
    // removes at its next start
    Long first = null;
    int lineNo = 0;
    long end;
    long written;
    try (ForwardLines in = new ForwardLines(e.path(), MAX_LINE)) {
      ForwardLines.Line l;
      while ((l = in.next()) != null) {
        lineNo++;
        Long seq = l.text() == null ? overlong(name, lineNo, l.bytes()) : line(name, l.text(), lineNo);
        if (first == null) {
          first = seq;
        }
      }
      end = in.linesEnd();
      written = in.writtenEnd();
    }
    pendingGap = null;
    if (end < written) {
      problem(new Location(name, lineNo + 1, null), "file truncated inside line " + (lineNo + 1)
          + " (its last " + (written - end) + " bytes have no end of line): truncated, or a write cut short "
          + "by a crash that the gateway repairs at its next start");
    } else if (written == 0) {
      problem(new Location(name, 1, null), "empty file: its header was removed or never written");
    }
    files.add(new FileResult(name, lineNo, first, prevSeq, !fileHadProblem));
  }

  /** A line longer than any the gateway writes: reported, not read (memory stays bounded). */
  private Long overlong(String file, int lineNo, long bytes) {
    records++;
    Location here = new Location(file, lineNo, null);
    problem(here, "record of " + bytes + " bytes, longer than any the gateway writes (" + MAX_LINE
        + "): not a readable audit record (edited or damaged)");
    accept(null, null, null, here);
    return null;
  }

  /** Checks one line; returns its seq (null when unreadable). */
  private Long line(String file, String text, int lineNo) {
    int index = lineNo - 1;
    resolveGap(text, lineNo);
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
    link(p, here, index);
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
      note("the chain starts at seq " + p.seq() + " in " + here.file() + ": earlier files ("
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

  private void link(AuditRecords.Parsed p, Location here, int index) {
    if (prevSeq == null) {
      return;
    }
    long seq = p.seq();
    boolean next = seq == prevSeq + 1;
    boolean linked = Objects.equals(p.prev(), prevHash);
    if (resync) {
      if (next && linked) {
        resync = false;
        note("checking resumed at " + here + ", the first intact link after the problem");
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
      long missing = seq - prevSeq - 1;
      // reported as deleted; if the missing seq turns up later in this file, resolveGap() turns it into a swap
      if (problem(here, (missing == 1 ? "seq " + (prevSeq + 1) : "seq " + (prevSeq + 1) + ".." + (seq - 1))
          + " missing after seq " + prevSeq + " (" + prevWhere.file() + " line " + prevWhere.line() + "): "
          + (missing == 1 ? "a record was" : missing + " records were") + " deleted"
          + (!"file".equals(p.kind()) || index != 0 ? ""
              : Objects.equals(p.json().getJsonObject("file").getString("previousFile"), prevWhere.file())
              ? ", or the end of the previous file was cut off"
              : "; the file before this one, " + p.json().getJsonObject("file").getString("previousFile")
                  + ", is missing"))) {
        pendingGap = new Gap(problems.size() - 1, prevSeq + 1, seq, here);
      }
    } else {
      problem(here, "seq " + seq + " after seq " + prevSeq + ": records out of order (swapped, moved or "
          + "duplicated)");
    }
  }

  private static String kindAt(String text) {
    return text == null ? "record" : kindOf(text);
  }

  /**
   * A gap reported as deleted records, kept until the end of its file: if the missing seq appears later in the file,
   * the records were moved, not deleted, and the problem says so.
   */
  private record Gap(int problemIndex, long missingSeq, long seenSeq, Location where) {}

  private void resolveGap(String text, int lineNo) {
    Gap g = pendingGap;
    if (g == null || AuditRecords.quickSeq(text) != g.missingSeq()) {
      return;
    }
    pendingGap = null;
    problems.set(g.problemIndex(), new Problem(g.where(), "seq " + g.seenSeq() + " comes before seq " + g.missingSeq()
        + " (line " + lineNo + "): records out of order (swapped or moved)"));
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

  /** Records a problem; true when it is listed (the first {@link #MAX_LISTED}), false when only counted. */
  private boolean problem(Location where, String message) {
    boolean listed = problems.size() < MAX_LISTED;
    if (listed) {
      problems.add(new Problem(where, message));
    } else {
      unlisted++;
    }
    fileHadProblem = true;
    cleanSinceDigest = false;
    resync = true;
    return listed;
  }

  private void note(String note) {
    if (notes.size() < MAX_LISTED) {
      notes.add(note);
    }
  }
}
