import type { Group } from '../access/types.js';
import type { Db } from './db.js';

export class GroupsRepository {
  constructor(private readonly db: Db) {}

  list(): Group[] {
    const groups = this.db.prepare<[], { id: string; name: string }>('SELECT id, name FROM groups ORDER BY id').all();
    const links = this.db.prepare<[], { group_id: string; door_id: string }>('SELECT group_id, door_id FROM group_doors ORDER BY door_id').all();
    return groups.map((group) => ({
      id: group.id,
      name: group.name,
      doorIds: links.filter((link) => link.group_id === group.id).map((link) => link.door_id),
    }));
  }

  upsert(group: Group): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO groups (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name').run(group.id, group.name);
      this.db.prepare('DELETE FROM group_doors WHERE group_id = ?').run(group.id);
      const link = this.db.prepare('INSERT INTO group_doors (group_id, door_id) VALUES (?, ?)');
      for (const doorId of group.doorIds) link.run(group.id, doorId);
    })();
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM groups WHERE id = ?').run(id);
  }
}
