/*
 * cmdstub.c - stand-in for a program a guide's START.BAT / STOP.BAT runs from its data (a vendor
 * CLI such as APPCTL, SQLCMD, ...): it is armstub.c (one trace line NAME<TAB>ARG1... appended to
 * %RB_ARM_TRACE%, in the same file and order as the ARM calls) under another main, which then
 * exits with the code in the environment variable RB_STUB_EXIT_<NAME> (0 if unset), so that a
 * proof can make one program fail and watch the script's IF ERRORLEVEL handling in cmd.exe.
 */
#define main armstub_main
#include "armstub.c"
#undef main

int main(int argc, char **argv)
{
    char name[MAX_PATH];
    char var[MAX_PATH + 16];
    const char *code;

    armstub_main(argc, argv);
    stub_name(name, sizeof name);
    lstrcpynA(var, "RB_STUB_EXIT_", (int)sizeof var);
    lstrcpynA(var + 13, name, (int)sizeof var - 13);
    code = getenv(var);
    return (code != NULL && *code != '\0') ? atoi(code) : 0;
}
