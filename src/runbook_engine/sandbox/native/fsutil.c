/*
 * fsutil.c - "fsutil fsinfo volumeinfo X:" (and "fsutil hardlink create NEW EXISTING") with
 * Windows's output format. Wine 8's builtin fsutil.exe only knows "hardlink".
 *
 * Everything printed comes from GetVolumeInformationA: nothing is hard-coded, so under Wine the
 * file system name is whatever Wine reports for the drive.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#ifndef FILE_SUPPORTS_TRANSACTIONS
#define FILE_SUPPORTS_TRANSACTIONS 0x00200000
#endif
#ifndef FILE_SUPPORTS_HARD_LINKS
#define FILE_SUPPORTS_HARD_LINKS 0x00400000
#endif
#ifndef FILE_SUPPORTS_EXTENDED_ATTRIBUTES
#define FILE_SUPPORTS_EXTENDED_ATTRIBUTES 0x00800000
#endif
#ifndef FILE_SUPPORTS_OPEN_BY_FILE_ID
#define FILE_SUPPORTS_OPEN_BY_FILE_ID 0x01000000
#endif
#ifndef FILE_SUPPORTS_USN_JOURNAL
#define FILE_SUPPORTS_USN_JOURNAL 0x02000000
#endif

static const struct {
    DWORD flag;
    const char *text;
} FLAGS[] = {
    {FILE_CASE_SENSITIVE_SEARCH, "Supports Case-sensitive filenames"},
    {FILE_CASE_PRESERVED_NAMES, "Preserves Case of filenames"},
    {FILE_UNICODE_ON_DISK, "Supports Unicode in filenames"},
    {FILE_PERSISTENT_ACLS, "Preserves & Enforces ACL's"},
    {FILE_FILE_COMPRESSION, "Supports file-based Compression"},
    {FILE_VOLUME_QUOTAS, "Supports Disk Quotas"},
    {FILE_SUPPORTS_SPARSE_FILES, "Supports Sparse files"},
    {FILE_SUPPORTS_REPARSE_POINTS, "Supports Reparse Points"},
    {FILE_SUPPORTS_OBJECT_IDS, "Supports Object Identifiers"},
    {FILE_SUPPORTS_ENCRYPTION, "Supports Encrypted File System"},
    {FILE_NAMED_STREAMS, "Supports Named Streams"},
    {FILE_SUPPORTS_TRANSACTIONS, "Supports Transactions"},
    {FILE_SUPPORTS_HARD_LINKS, "Supports Hard Links"},
    {FILE_SUPPORTS_EXTENDED_ATTRIBUTES, "Supports Extended Attributes"},
    {FILE_SUPPORTS_OPEN_BY_FILE_ID, "Supports Open By FileID"},
    {FILE_SUPPORTS_USN_JOURNAL, "Supports USN Journal"},
};

static int win32_error(DWORD err)
{
    char msg[512];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
                             0, msg, sizeof msg, NULL);
    while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    printf("Error:  %s\n", n ? msg : "unknown error");
    return (int)err;
}

static int volumeinfo(const char *arg)
{
    char root[MAX_PATH], name[MAX_PATH + 1], fs[MAX_PATH + 1];
    DWORD serial = 0, maxlen = 0, flags = 0;
    size_t i, len = strlen(arg);
    if (len == 0 || len > MAX_PATH - 2) {
        printf("Usage : fsutil fsinfo volumeinfo <volume pathname>\n");
        return 1;
    }
    lstrcpynA(root, arg, sizeof root);
    if (root[len - 1] != '\\') {
        root[len] = '\\';
        root[len + 1] = '\0';
    }
    if (!GetVolumeInformationA(root, name, sizeof name, &serial, &maxlen, &flags, fs, sizeof fs))
        return win32_error(GetLastError());
    printf("Volume Name : %s\n", name);
    printf("Volume Serial Number : 0x%lx\n", (unsigned long)serial);
    printf("Max Component Length : %lu\n", (unsigned long)maxlen);
    printf("File System Name : %s\n", fs);
    printf("%s\n", (flags & FILE_READ_ONLY_VOLUME) ? "Is ReadOnly" : "Is ReadWrite");
    for (i = 0; i < sizeof FLAGS / sizeof FLAGS[0]; ++i)
        if (flags & FLAGS[i].flag)
            printf("%s\n", FLAGS[i].text);
    return 0;
}

static int hardlink_create(const char *link, const char *existing)
{
    if (!CreateHardLinkA(link, existing, NULL))
        return win32_error(GetLastError());
    printf("Hardlink created for %s <<===>> %s\n", link, existing);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && _stricmp(argv[1], "fsinfo") == 0 && _stricmp(argv[2], "volumeinfo") == 0)
        return volumeinfo(argv[3]);
    if (argc >= 5 && _stricmp(argv[1], "hardlink") == 0 && _stricmp(argv[2], "create") == 0)
        return hardlink_create(argv[3], argv[4]);
    printf("---- Commands Supported (runbook-engine sandbox fsutil) ----\n\n"
           "fsinfo        File System Information (volumeinfo)\n"
           "hardlink      Hardlink management (create)\n");
    return argc > 1 ? 1 : 0;
}
