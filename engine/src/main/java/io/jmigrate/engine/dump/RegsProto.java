package io.jmigrate.engine.dump;

import io.jmigrate.engine.sys.UserRegs;

/** Between {@link UserRegs} and its image message, field for field. */
public final class RegsProto {
    private RegsProto() {}

    public static io.jmigrate.engine.image.proto.UserRegs toProto(UserRegs r) {
        return io.jmigrate.engine.image.proto.UserRegs.newBuilder()
                .setR15(r.get(UserRegs.R15)).setR14(r.get(UserRegs.R14)).setR13(r.get(UserRegs.R13))
                .setR12(r.get(UserRegs.R12)).setRbp(r.get(UserRegs.RBP)).setRbx(r.get(UserRegs.RBX))
                .setR11(r.get(UserRegs.R11)).setR10(r.get(UserRegs.R10)).setR9(r.get(UserRegs.R9))
                .setR8(r.get(UserRegs.R8)).setRax(r.get(UserRegs.RAX)).setRcx(r.get(UserRegs.RCX))
                .setRdx(r.get(UserRegs.RDX)).setRsi(r.get(UserRegs.RSI)).setRdi(r.get(UserRegs.RDI))
                .setOrigRax(r.get(UserRegs.ORIG_RAX)).setRip(r.get(UserRegs.RIP)).setCs(r.get(UserRegs.CS))
                .setEflags(r.get(UserRegs.EFLAGS)).setRsp(r.get(UserRegs.RSP)).setSs(r.get(UserRegs.SS))
                .setFsBase(r.get(UserRegs.FS_BASE)).setGsBase(r.get(UserRegs.GS_BASE)).setDs(r.get(UserRegs.DS))
                .setEs(r.get(UserRegs.ES)).setFs(r.get(UserRegs.FS)).setGs(r.get(UserRegs.GS))
                .build();
    }

    public static UserRegs fromProto(io.jmigrate.engine.image.proto.UserRegs p) {
        return new UserRegs(new long[]{p.getR15(), p.getR14(), p.getR13(), p.getR12(), p.getRbp(), p.getRbx(),
                p.getR11(), p.getR10(), p.getR9(), p.getR8(), p.getRax(), p.getRcx(), p.getRdx(), p.getRsi(),
                p.getRdi(), p.getOrigRax(), p.getRip(), p.getCs(), p.getEflags(), p.getRsp(), p.getSs(),
                p.getFsBase(), p.getGsBase(), p.getDs(), p.getEs(), p.getFs(), p.getGs()});
    }
}
