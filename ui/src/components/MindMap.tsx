import type { MindNode } from "../bindings";

export const MAX_MIND_DEPTH = 4;

/** Levels in a tree (a leaf is 1). */
export function mindDepth(node: MindNode): number {
  return 1 + Math.max(0, ...(node.children ?? []).map(mindDepth));
}

/** Cuts the tree to `max` levels (the root is level 1). */
export function limitDepth(node: MindNode, max: number = MAX_MIND_DEPTH): MindNode {
  if (max <= 1) return { text: node.text };
  return { text: node.text, children: (node.children ?? []).map((c) => limitDepth(c, max - 1)) };
}

function Branch({ node, depth }: { node: MindNode; depth: number }) {
  const children = node.children ?? [];
  return (
    <li className={`mind-item depth-${depth}`}>
      <span className="mind-node" data-testid="mind-node" data-depth={depth}>
        {node.text}
      </span>
      {children.length > 0 && (
        <ul className="mind-children">
          {children.map((c, i) => (
            <Branch key={i} node={c} depth={depth + 1} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** A horizontal CSS tree (root on the left), at most four levels. */
export function MindMap({ root }: { root: MindNode }) {
  const tree = limitDepth(root);
  return (
    <div className="mind-map" data-testid="mind-map">
      <ul className="mind-root">
        <Branch node={tree} depth={1} />
      </ul>
    </div>
  );
}
