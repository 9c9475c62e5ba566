package io.jmigrate.engine.image;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.Vma;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Renders an {@link ImageSet} as one pretty JSON document for people ({@code jmigrate show}).
 *
 * <p>Every field of every proto image is printed under its proto name, found through the message descriptors, so
 * new schema fields appear without changes here. For reading rather than re-parsing: addresses, register values,
 * signal handlers and masks and checksums are hex strings ({@code "0x7f12..."}), open flags and modes octal, auxv a
 * list of named entries, and bytes are never printed: {@code xstate} becomes {@code "xstate_bytes": 2696}, a
 * siginfo its signo/errno/code. Page contents are not printed at all. Each process gets a summary (threads, VMAs,
 * pages dumped, MiB).
 *
 * <p>(It does not go through JsonFormat + gson: gson is only a runtime dependency of protobuf-java-util.)
 */
public final class ImageJson {
    private ImageJson() {}

    private static final Set<String> HEX_FIELDS = Set.of("start", "end", "vaddr", "pgoff", "file_offset",
            "start_code", "end_code", "start_data", "end_data", "start_brk", "brk", "start_stack",
            "arg_start", "arg_end", "env_start", "env_end", "sigmask", "crc32c");
    private static final Set<String> SIGACTION_HEX = Set.of("handler", "flags", "restorer", "mask");
    private static final int LINE = 100;
    private static final double MIB = 1024.0 * 1024.0;

    /** The whole image set as one JSON document. */
    public static String render(ImageSet set) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("directory", set.directory().toAbsolutePath().toString());
        Map<String, Object> total = new LinkedHashMap<>();
        doc.put("summary", total);
        doc.put("inventory", tree(set.inventory()));
        doc.put("pstree", tree(set.pstree()));
        List<Object> processes = new ArrayList<>();
        long threads = 0, vmas = 0, pages = 0;
        for (ProcessEntry e : set.pstree().getProcessesList()) {
            int pid = e.getPid();
            Map<String, Object> p = new LinkedHashMap<>();
            if (set.isPreDump()) {            // memory only: the process ran on
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("pid", pid);
                pages += pageCounts(set, pid, summary);
                p.put("summary", summary);
                p.put("pagemap", tree(set.pageIndex(pid)));
                processes.add(p);
                continue;
            }
            Map<String, Object> summary = summary(set, e);
            threads += set.core(pid).getThreadsCount();
            vmas += set.mm(pid).getVmasCount();
            pages += (Long) summary.get("pages_dumped");
            p.put("summary", summary);
            p.put("core", tree(set.core(pid)));
            p.put("mm", tree(set.mm(pid)));
            p.put("pagemap", tree(set.pageIndex(pid)));
            Map<String, Object> pagesFile = new LinkedHashMap<>();
            pagesFile.put("name", ImageKind.PAGES.fileName(pid));
            pagesFile.put("data_offset", set.pagesDataOffset());
            pagesFile.put("data_bytes", set.pagesBytes(pid));
            p.put("pages_file", pagesFile);
            p.put("fds", tree(set.fds(pid)));
            processes.add(p);
        }
        total.put("processes", processes.size());
        total.put("threads", threads);
        total.put("vmas", vmas);
        total.put("pages_dumped", pages);
        total.put("pages_mib", mib(pages * ImageFormat.PAGE_SIZE));
        if (set.isDeduplicated()) {
            long dropped = 0;
            for (int pid : set.pids()) dropped += set.dropped(pid).pages();
            total.put("auto_dedup", "pages held by newer sets of the chain were dropped: " + dropped + " pages ("
                    + String.format(Locale.ROOT, "%.2f", dropped * ImageFormat.PAGE_SIZE / MIB) + " MiB)");
        }
        doc.put("processes", processes);
        StringBuilder out = new StringBuilder();
        write(out, doc, 0);
        return out.append('\n').toString();
    }

    private static Map<String, Object> summary(ImageSet set, ProcessEntry e) {
        int pid = e.getPid();
        ProcessCore core = set.core(pid);
        MmImage mm = set.mm(pid);
        long vmaBytes = 0;
        for (Vma v : mm.getVmasList()) vmaBytes += v.getEnd() - v.getStart();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("pid", pid);
        s.put("ppid", e.getPpid());
        s.put("comm", core.getComm());
        s.put("threads", core.getThreadsCount());
        s.put("vmas", mm.getVmasCount());
        s.put("vma_mib", mib(vmaBytes));
        pageCounts(set, pid, s);
        s.put("fds", set.fds(pid).getFdsCount());
        return s;
    }

    /** Puts page_runs, pages_dumped (in this set's pages file), pages_mib and pages_in_parent; returns pages_dumped. */
    private static long pageCounts(ImageSet set, int pid, Map<String, Object> s) {
        long pages = 0, inParent = 0;
        for (PageRun r : set.pageIndex(pid).getRunsList()) {
            if (r.getInParent()) inParent += r.getNrPages();
            else pages += r.getNrPages();
        }
        s.put("page_runs", set.pageIndex(pid).getRunsCount());
        s.put("pages_dumped", pages);
        s.put("pages_mib", mib(pages * ImageFormat.PAGE_SIZE));
        if (inParent > 0) s.put("pages_in_parent", inParent);
        long dropped = set.dropped(pid).pages();
        if (dropped > 0) {
            s.put("pages_dropped_by_auto_dedup", dropped);       // in the pages file as a hole: not restorable from here
            s.put("pages_held", pages - dropped);
        }
        return pages;
    }

    // ---- proto message -> tree of maps, lists and scalars --------------------------------------------------------

    /** A JSON number written as is. */
    private record Literal(String text) {}

    private static Literal mib(long bytes) {
        return new Literal(String.format(Locale.ROOT, "%.2f", bytes / MIB));
    }

    static Map<String, Object> tree(Message m) {
        String type = m.getDescriptorForType().getName();
        Map<String, Object> out = new LinkedHashMap<>();
        for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
            String name = f.getName();
            if (f.getJavaType() == FieldDescriptor.JavaType.BYTE_STRING) {
                bytesField(out, m, f);
            } else if (type.equals("MmImage") && name.equals("auxv")) {
                out.put(name, auxv(((MmImage) m).getAuxvList()));
            } else if (f.isRepeated()) {
                List<Object> list = new ArrayList<>();
                for (Object v : (List<?>) m.getField(f)) list.add(value(type, f, v));
                out.put(name, list);
            } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !m.hasField(f)) {
                continue;   // an unset sub-message: nothing to show
            } else {
                out.put(name, value(type, f, m.getField(f)));
            }
        }
        return out;
    }

    private static Object value(String type, FieldDescriptor f, Object v) {
        String name = f.getName();
        return switch (f.getJavaType()) {
            case MESSAGE -> tree((Message) v);
            case ENUM -> ((EnumValueDescriptor) v).getName();
            case STRING, BOOLEAN, FLOAT, DOUBLE -> v;
            case INT, LONG -> {
                long x = v instanceof Integer i ? (isUnsigned(f) ? Integer.toUnsignedLong(i) : i) : (Long) v;
                boolean unsigned = isUnsigned(f);
                if (type.equals("UserRegs") || HEX_FIELDS.contains(name)
                        || type.equals("SigAction") && SIGACTION_HEX.contains(name)) {
                    if (type.equals("SigAction") && name.equals("handler") && (x == 0 || x == 1))
                        yield x == 0 ? "SIG_DFL" : "SIG_IGN";
                    yield hex(x);
                }
                if (type.equals("FdEntry") && (name.equals("flags") || name.equals("mode"))
                        || type.equals("ProcessCore") && name.equals("umask")) yield "0" + Long.toOctalString(x);
                if (type.equals("Rlimit") && x == -1 && (name.equals("soft") || name.equals("hard"))) yield "unlimited";
                yield unsigned && x < 0 ? new BigInteger(Long.toUnsignedString(x)) : (Object) x;
            }
            case BYTE_STRING -> throw new AssertionError(name);   // handled by bytesField
        };
    }

    private static boolean isUnsigned(FieldDescriptor f) {
        return switch (f.getType()) {
            case UINT32, UINT64, FIXED32, FIXED64 -> true;
            default -> false;
        };
    }

    private static String hex(long x) {
        return "0x" + Long.toHexString(x);
    }

    /** Bytes are never printed: siginfo lists show signo/errno/code, anything else its length. */
    private static void bytesField(Map<String, Object> out, Message m, FieldDescriptor f) {
        String name = f.getName();
        if (f.isRepeated() && name.endsWith("signals")) {
            List<Object> list = new ArrayList<>();
            for (Object v : (List<?>) m.getField(f)) list.add(siginfo((ByteString) v));
            out.put(name, list);
        } else if (f.isRepeated()) {
            List<Object> sizes = new ArrayList<>();
            for (Object v : (List<?>) m.getField(f)) sizes.add(((ByteString) v).size());
            out.put(name + "_bytes", sizes);
        } else {
            out.put(name + "_bytes", ((ByteString) m.getField(f)).size());
        }
    }

    private static Object siginfo(ByteString raw) {
        Map<String, Object> s = new LinkedHashMap<>();
        if (raw.size() < 12) {
            s.put("bytes", raw.size());
            return s;
        }
        ByteBuffer b = raw.substring(0, 12).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        s.put("si_signo", b.getInt());
        s.put("si_errno", b.getInt());
        s.put("si_code", b.getInt());
        return s;
    }

    private static List<Object> auxv(List<Long> words) {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i + 1 < words.size(); i += 2) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("type", auxvName(words.get(i)));
            e.put("value", hex(words.get(i + 1)));
            out.add(e);
        }
        if (words.size() % 2 != 0) out.add(Map.of("type", auxvName(words.getLast())));
        return out;
    }

    private static String auxvName(long type) {
        return switch ((int) type) {
            case 0 -> "AT_NULL";
            case 1 -> "AT_IGNORE";
            case 2 -> "AT_EXECFD";
            case 3 -> "AT_PHDR";
            case 4 -> "AT_PHENT";
            case 5 -> "AT_PHNUM";
            case 6 -> "AT_PAGESZ";
            case 7 -> "AT_BASE";
            case 8 -> "AT_FLAGS";
            case 9 -> "AT_ENTRY";
            case 10 -> "AT_NOTELF";
            case 11 -> "AT_UID";
            case 12 -> "AT_EUID";
            case 13 -> "AT_GID";
            case 14 -> "AT_EGID";
            case 15 -> "AT_PLATFORM";
            case 16 -> "AT_HWCAP";
            case 17 -> "AT_CLKTCK";
            case 23 -> "AT_SECURE";
            case 24 -> "AT_BASE_PLATFORM";
            case 25 -> "AT_RANDOM";
            case 26 -> "AT_HWCAP2";
            case 27 -> "AT_RSEQ_FEATURE_SIZE";
            case 28 -> "AT_RSEQ_ALIGN";
            case 29 -> "AT_HWCAP3";
            case 30 -> "AT_HWCAP4";
            case 31 -> "AT_EXECFN";
            case 32 -> "AT_SYSINFO";
            case 33 -> "AT_SYSINFO_EHDR";
            case 51 -> "AT_MINSIGSTKSZ";
            default -> "AT_" + Long.toUnsignedString(type);
        };
    }

    // ---- tree -> pretty JSON ----------------------------------------------------------------------------------

    /**
     * Containers that fit on one line are written on one line; objects of scalars (registers, a VMA) as many members
     * to a line as fit; others one member per line.
     */
    private static void write(StringBuilder out, Object v, int indent) {
        String inline = inline(v, LINE - 2 * indent);
        if (inline != null) {
            out.append(inline);
            return;
        }
        String pad = "  ".repeat(indent + 1);
        if (v instanceof Map<?, ?> map && map.values().stream().allMatch(ImageJson::isScalar)) {
            out.append("{\n").append(pad);
            int col = pad.length(), i = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                String member = inline(Map.of(e.getKey(), e.getValue()), Integer.MAX_VALUE);
                member = member.substring(1, member.length() - 1) + (++i < map.size() ? "," : "");
                if (col > pad.length() && col + 1 + member.length() > LINE) {
                    out.append('\n').append(pad);
                    col = pad.length();
                } else if (col > pad.length()) {
                    out.append(' ');
                    col++;
                }
                out.append(member);
                col += member.length();
            }
            out.append('\n').append("  ".repeat(indent)).append('}');
        } else if (v instanceof Map<?, ?> map) {
            out.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(pad);
                string(out, e.getKey().toString());
                out.append(": ");
                write(out, e.getValue(), indent + 1);
                out.append(++i < map.size() ? ",\n" : "\n");
            }
            out.append("  ".repeat(indent)).append('}');
        } else {
            List<?> list = (List<?>) v;
            out.append("[\n");
            for (int i = 0; i < list.size(); i++) {
                out.append(pad);
                write(out, list.get(i), indent + 1);
                out.append(i + 1 < list.size() ? ",\n" : "\n");
            }
            out.append("  ".repeat(indent)).append(']');
        }
    }

    private static boolean isScalar(Object v) {
        return !(v instanceof Map<?, ?>) && !(v instanceof List<?>);
    }

    /** {@code v} on one line, or null if that would take more than {@code budget} characters. */
    private static String inline(Object v, int budget) {
        StringBuilder sb = new StringBuilder();
        if (v instanceof Map<?, ?> map) {
            sb.append('{');
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (sb.length() > 1) sb.append(", ");
                string(sb, e.getKey().toString());
                sb.append(": ");
                String child = inline(e.getValue(), budget - sb.length());
                if (child == null) return null;
                sb.append(child);
                if (sb.length() > budget) return null;
            }
            sb.append('}');
        } else if (v instanceof List<?> list) {
            sb.append('[');
            for (Object o : list) {
                if (sb.length() > 1) sb.append(", ");
                String child = inline(o, budget - sb.length());
                if (child == null) return null;
                sb.append(child);
                if (sb.length() > budget) return null;
            }
            sb.append(']');
        } else if (v instanceof String s) {
            string(sb, s);
        } else if (v instanceof Literal l) {
            sb.append(l.text());
        } else {
            sb.append(v);   // numbers and booleans
        }
        return sb.length() > budget ? null : sb.toString();
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
