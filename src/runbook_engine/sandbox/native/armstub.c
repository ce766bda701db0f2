/*
 * armstub.c - stand-in for the CLUSTERPRO ARM* commands (ARMLOAD, ARMKILL, ARMBCAST, ...).
 *
 * One binary is copied under each ARM* name. It learns the name it was started as with
 * GetModuleFileNameA (basename, ".exe" removed, upper-cased) and appends one line to the file
 * named by the environment variable RB_ARM_TRACE, if set:
 *
 *     NAME<TAB>ARG1<TAB>ARG2...\n
 *
 * Arguments are the C runtime's argv (quotes removed), bytes unchanged (ANSI code page, CP932
 * under LANG=ja_JP.UTF-8). The whole line is written with one WriteFile on an append-only handle
 * while holding a byte-range lock, so concurrent stubs never interleave. Always exits 0.
 */
#include <windows.h>
#include <stdlib.h>
#include <string.h>

static void stub_name(char *out, size_t cap)
{
    char path[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, path, sizeof path);
    const char *base = path;
    size_t len;
    char *p;

    if (n == 0 || n >= sizeof path) {
        lstrcpynA(out, "ARMSTUB", (int)cap);
        return;
    }
    for (p = path; *p; ++p)
        if (*p == '\\' || *p == '/')
            base = p + 1;
    lstrcpynA(out, base, (int)cap);
    len = strlen(out);
    if (len > 4 && _stricmp(out + len - 4, ".exe") == 0)
        out[len - 4] = '\0';
    for (p = out; *p; ++p)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
}

static HANDLE open_trace(const char *file)
{
    int attempt;
    for (attempt = 0; attempt < 200; ++attempt) {
        HANDLE h = CreateFileA(file, FILE_APPEND_DATA | SYNCHRONIZE,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                               OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE)
            return h;
        if (GetLastError() != ERROR_SHARING_VIOLATION)
            return INVALID_HANDLE_VALUE;
        Sleep(5);
    }
    return INVALID_HANDLE_VALUE;
}

int main(int argc, char **argv)
{
    char name[MAX_PATH];
    const char *trace = getenv("RB_ARM_TRACE");
    size_t total, pos;
    char *line;
    int i;
    HANDLE h;
    OVERLAPPED ov;
    DWORD written;

    if (trace == NULL || *trace == '\0')
        return 0;
    stub_name(name, sizeof name);

    total = strlen(name) + 2;
    for (i = 1; i < argc; ++i)
        total += strlen(argv[i]) + 1;
    line = (char *)malloc(total);
    if (line == NULL)
        return 0;
    pos = 0;
    memcpy(line + pos, name, strlen(name));
    pos += strlen(name);
    for (i = 1; i < argc; ++i) {
        size_t n = strlen(argv[i]);
        line[pos++] = '\t';
        memcpy(line + pos, argv[i], n);
        pos += n;
    }
    line[pos++] = '\n';

    h = open_trace(trace);
    if (h == INVALID_HANDLE_VALUE) {
        free(line);
        return 0;
    }
    memset(&ov, 0, sizeof ov);
    /* An exclusive lock far beyond any real data serialises writers without blocking readers. */
    ov.Offset = 0xFFFFFFF0u;
    ov.OffsetHigh = 0x7FFFFFFFu;
    if (LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov)) {
        WriteFile(h, line, (DWORD)pos, &written, NULL);
        UnlockFileEx(h, 0, 1, 0, &ov);
    } else {
        WriteFile(h, line, (DWORD)pos, &written, NULL);
    }
    CloseHandle(h);
    free(line);
    return 0;
}
