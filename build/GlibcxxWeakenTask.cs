// MSBuild inline task: marks libLibTorchSharp.so's GLIBCXX_3.4.32 version requirement as weak
// (VER_FLG_WEAK) in copies the build writes, so it loads against Debian 12's libstdc++.
// The only symbol behind that version, _ZSt21ios_base_library_initv, is an unused marker.
// The NuGet cache is never touched: only files under the output or publish folder are patched.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class GlibcxxWeakenTask : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                int changed = Patch(path, "GLIBCXX_3.4.32");
                if (changed > 0) Log.LogMessage(MessageImportance.Normal, $"Weakened GLIBCXX_3.4.32 in {path}");
            }
            catch (Exception e)
            {
                Log.LogError($"Could not patch {path}: {e.Message}");
                return false;
            }
        }
        return true;
    }

    // Returns how many entries were changed (0 when already weak or absent: idempotent).
    static int Patch(string path, string version)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2)
            throw new InvalidDataException("not a 64-bit ELF file");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            uint type = BitConverter.ToUInt32(b, (int)sh + 4);
            if (type != 0x6ffffffe) continue; // SHT_GNU_verneed
            long off = BitConverter.ToInt64(b, (int)sh + 24);
            int link = BitConverter.ToInt32(b, (int)sh + 40);
            int count = BitConverter.ToInt32(b, (int)sh + 44);
            long strOff = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 24);
            long vn = off;
            for (int n = 0; n < count; n++)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                    uint name = BitConverter.ToUInt32(b, (int)aux + 8);
                    if (ReadString(b, strOff + name) == version && (flags & 2) == 0)
                    {
                        flags |= 2;
                        b[aux + 4] = (byte)(flags & 0xff);
                        b[aux + 5] = (byte)(flags >> 8);
                        changed++;
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(b, (int)vn + 12);
            }
        }
        if (changed > 0)
        {
            // Write through a temp file so a hard-linked source can never be modified.
            var tmp = path + ".patching";
            File.WriteAllBytes(tmp, b);
            if (File.Exists(path)) File.Delete(path);
            File.Move(tmp, path);
        }
        return changed;
    }

    static string ReadString(byte[] b, long at)
    {
        long end = at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
    }
}
