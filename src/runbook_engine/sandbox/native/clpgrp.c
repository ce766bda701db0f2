/*
 * clpgrp.c - stand-in for CLUSTERPRO's group command on a sandbox node where the cluster is
 * "installed" (runbook sandbox create --phase operation).
 *
 *   clpgrp -n <group>              prints the server the group is active on, exit 0
 *                                  (public: EXPRESSCLUSTER/gp-ecx, .../replica_script/normal.ps1
 *                                  l.7, `$active_srv = clpgrp -n $group`)
 *   clpgrp -m <group> -a <server>  moves the group to <server>, exit 0
 *
 * The state is one file per group, C:\CLUSTERPRO\sandbox\groups\<group>.txt, holding the server
 * name; the sandbox writes the same file into every node's prefix. A move rewrites the file of
 * THIS node only (a real cluster tells every node): a test uses it to make the nodes disagree.
 * An unknown option, a bad or unknown group: a message on stderr and a non-zero exit code (the
 * vendor publishes no exit-code table; real clpgrp is non-zero on failure).
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#define GROUP_DIR "C:\\CLUSTERPRO\\sandbox\\groups\\"

static int valid_token(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; ++i) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int usage(void)
{
    fputs("usage: clpgrp -n <group> | clpgrp -m <group> -a <server>\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    char path[MAX_PATH];
    char buf[256];
    FILE *f;
    size_t n;

    if (argc == 3 && strcmp(argv[1], "-n") == 0) {
        if (!valid_token(argv[2]))
            return usage();
        snprintf(path, sizeof path, GROUP_DIR "%s.txt", argv[2]);
        f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "clpgrp: group '%s' does not exist\n", argv[2]);
            return 3;
        }
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        printf("%s\n", buf);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "-m") == 0 && strcmp(argv[3], "-a") == 0) {
        if (!valid_token(argv[2]) || !valid_token(argv[4]))
            return usage();
        snprintf(path, sizeof path, GROUP_DIR "%s.txt", argv[2]);
        if (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES) {
            fprintf(stderr, "clpgrp: group '%s' does not exist\n", argv[2]);
            return 3;
        }
        f = fopen(path, "wb");
        if (f == NULL) {
            fprintf(stderr, "clpgrp: cannot write the state of group '%s'\n", argv[2]);
            return 4;
        }
        fprintf(f, "%s\r\n", argv[4]);
        fclose(f);
        return 0;
    }
    return usage();
}
