import { Controller, Get, Inject } from '@nestjs/common';
import type { DeviceView, PeerLinkView } from '../../protocol/index.js';
import { DevicesService } from './devices.service.js';

/** REST: the joined devices (lost ones too, up to a bound). Open like every GET. */
@Controller('api')
export class DevicesController {
  constructor(@Inject(DevicesService) private readonly devices: DevicesService) {}

  @Get('devices')
  list(): DeviceView[] {
    return this.devices.list();
  }

  /** Links measured from each device to the others' peer listeners (docs/runtime.md, direct plane). */
  @Get('devices/links')
  links(): PeerLinkView[] {
    return this.devices.peerLinks();
  }
}
