// Marks libLibTorchSharp.so's version need on GLIBCXX_3.4.32 as weak so that the library loads on
// distributions whose libstdc++ predates GCC 13 (Debian 12). See PatchLibTorchSharp.targets for why.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class SkimPatchLibTorchSharp : Task
{
    private const string NeededVersion = "GLIBCXX_3.4.32";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public string Directory { get; set; } = "";

    public override bool Execute()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return true;
        }
        string[] libraries = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        if (libraries.Length == 0 || SystemLibStdCxxHasVersion())
        {
            return true;
        }
        foreach (string library in libraries)
        {
            try
            {
                string outcome = Patch(library);
                Log.LogMessage(MessageImportance.Normal, "skim: {0}: {1}", library, outcome);
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogWarning("skim: could not patch {0}: {1}", library, e.Message);
            }
        }
        return true;
    }

    private static bool SystemLibStdCxxHasVersion()
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        byte[] needle = Encoding.ASCII.GetBytes(NeededVersion + "\0");
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return Contains(File.ReadAllBytes(candidate), needle);
            }
        }
        return false;
    }

    /// <summary>Sets VER_FLG_WEAK on the Elf64_Vernaux entry named GLIBCXX_3.4.32, if present.</summary>
    private static string Patch(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }
        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not a little-endian ELF64 file");
        }
        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed)
            {
                continue;
            }
            long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
            uint strtabIndex = BitConverter.ToUInt32(elf, (int)sh + 0x28);
            uint count = BitConverter.ToUInt32(elf, (int)sh + 0x2C);
            long strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + strtabIndex * shentsize + 0x18));

            long verneed = offset;
            for (uint n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)verneed + 2);
                long aux = verneed + BitConverter.ToUInt32(elf, (int)verneed + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    uint nameOffset = BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadCString(elf, strtab + nameOffset) == NeededVersion)
                    {
                        int flagsAt = (int)aux + 4;
                        ushort flags = BitConverter.ToUInt16(elf, flagsAt);
                        if ((flags & VerFlgWeak) != 0)
                        {
                            return "already patched";
                        }
                        flags |= VerFlgWeak;
                        elf[flagsAt] = (byte)(flags & 0xff);
                        elf[flagsAt + 1] = (byte)(flags >> 8);
                        // Write beside the file and rename, so an interrupted build never leaves a torn library.
                        string temp = path + ".skim-patch.tmp";
                        File.WriteAllBytes(temp, elf);
                        File.Replace(temp, path, null);
                        return "marked the " + NeededVersion + " version need weak";
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                verneed += BitConverter.ToUInt32(elf, (int)verneed + 12);
            }
        }
        return "no " + NeededVersion + " version need; left unchanged";
    }

    // The task factory compiles against netstandard, which has no Span-based search.
    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j])
            {
                j++;
            }
            if (j == needle.Length)
            {
                return true;
            }
        }
        return false;
    }

    private static string ReadCString(byte[] data, long start)
    {
        int end = (int)start;
        while (end < data.Length && data[end] != 0)
        {
            end++;
        }
        return Encoding.ASCII.GetString(data, (int)start, end - (int)start);
    }
}
