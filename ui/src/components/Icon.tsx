const PATHS = {
  library: "M4 5h16M4 12h16M4 19h10",
  import: "M12 4v11m0 0l-4-4m4 4l4-4M5 20h14",
  record: "M12 4a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V7a3 3 0 0 1 3-3zM6 11a6 6 0 0 0 12 0M12 17v3",
  settings: "M12 9a3 3 0 1 0 0 6a3 3 0 0 0 0-6zM4 12h2m12 0h2M12 4v2m0 12v2M6.3 6.3l1.4 1.4m8.6 8.6l1.4 1.4M6.3 17.7l1.4-1.4m8.6-8.6l1.4-1.4",
  trash: "M5 7h14M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  search: "M11 5a6 6 0 1 0 0 12a6 6 0 0 0 0-12zM20 20l-4.5-4.5",
  play: "M8 5v14l11-7z",
  pause: "M8 5v14M16 5v14",
  edit: "M4 20h4L19 9l-4-4L4 16zM14 6l4 4",
  back: "M15 5l-7 7l7 7",
  flag: "M6 21V4m0 0h11l-2 4l2 4H6",
  x: "M6 6l12 12M18 6L6 18",
  mic: "M12 4a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V7a3 3 0 0 1 3-3zM6 11a6 6 0 0 0 12 0",
  speaker: "M4 10v4h4l5 4V6L8 10zM16 9a4 4 0 0 1 0 6",
  stop: "M7 7h10v10H7z",
  sparkle: "M12 3l2 5l5 2l-5 2l-2 5l-2-5l-5-2l5-2z",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 18 }: { name: IconName; size?: number }) {
  const filled = name === "play" || name === "stop";
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 24 24" fill={filled ? "currentColor" : "none"} stroke="currentColor" strokeWidth={filled ? 0 : 1.8} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d={PATHS[name]} />
    </svg>
  );
}
